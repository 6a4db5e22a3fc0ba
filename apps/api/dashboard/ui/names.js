import { getJson, isAbort } from './api.js';
import { h, route } from './dom.js';

/** How a kernel build is named to people: its release and package version, never only its row id. */
export function kernelName(k, id) {
  return k ? `${k.release} (${k.version})` : `kernel build #${id}`;
}

/** A link to a kernel build's page, named by release and version. */
export function kernelLink(k, id = k?.id) {
  return h('a', { href: route(`/kernels/${id}`) }, kernelName(k, id));
}

/** Kernel builds looked up by id for views whose data names only the id (jobs, a module's own build). */
const learnt = new Map();

/** The name of a build by id: release and version once learnt, the id until then (or if it is gone). */
export function nameOf(id) {
  return learnt.get(id) ?? kernelName(null, id ?? '?');
}

/** Looks up the builds not learnt yet, once each; one that cannot be looked up (gone) keeps its id. */
export async function learnKernels(ids, signal) {
  await Promise.all(
    [...new Set(ids)]
      .filter((id) => typeof id === 'number' && !learnt.has(id))
      .map(async (id) => {
        try {
          learnt.set(id, kernelName(await getJson(`/v1/kernels/${id}`, { signal }), id));
        } catch (err) {
          if (isAbort(err)) throw err;
          learnt.set(id, null);
        }
      }),
  );
}
