/* global document, window, location, AbortController, URLSearchParams */
// Hash router: every view has a linkable URL (#/matrix?flavour=amd64, #/kernels/12, #/alerts/3, #/compat?…).

import { isAbort } from './api.js';
import { h, message, route, replace } from './dom.js';
import { alertView, alertsView } from './alerts.js';
import { coverageView } from './coverage.js';
import { compatView } from './evidence.js';
import { jobsView, subscribeJobs } from './jobs.js';
import { kernelView } from './kernel.js';
import { matrixView } from './matrix.js';

const ROUTES = [
  { pattern: /^\/?$/, nav: 'matrix', view: matrixView },
  { pattern: /^\/matrix$/, nav: 'matrix', view: matrixView },
  { pattern: /^\/kernels\/(\d+)$/, nav: 'matrix', view: kernelView },
  { pattern: /^\/alerts$/, nav: 'alerts', view: alertsView },
  { pattern: /^\/alerts\/(\d+)$/, nav: 'alerts', view: alertView },
  { pattern: /^\/coverage$/, nav: 'alerts', view: coverageView },
  { pattern: /^\/compat$/, nav: 'matrix', view: compatView },
  { pattern: /^\/jobs$/, nav: 'jobs', view: jobsView },
];

const main = document.getElementById('main');
let current = null;
let first = true;

function notFound({ main: el, path }) {
  document.title = 'Not found · btfwatch';
  replace(
    el,
    h('h1', { tabindex: '-1' }, 'Nothing here'),
    message('error', `No view for ${path}. `, h('a', { href: route('/matrix') }, 'Go to the matrix')),
  );
}

function navigate() {
  const raw = location.hash.replace(/^#/, '');
  // In-page anchors (#main from the skip link) are not routes.
  if (raw && !raw.startsWith('/')) return;
  const [path = '/', query = ''] = raw.split('?');
  const params = new URLSearchParams(query);
  const found = ROUTES.map((r) => ({ r, m: r.pattern.exec(path || '/') })).find((x) => x.m);
  current?.abort();
  current = new AbortController();
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (found && a.dataset.nav === found.r.nav) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  main.replaceChildren();
  const ctx = { main, params, match: found?.m ?? null, path, signal: current.signal };
  try {
    const result = (found?.r.view ?? notFound)(ctx);
    if (result && typeof result.catch === 'function')
      result.catch((err) => {
        if (!isAbort(err)) main.append(message('error', `Something went wrong: ${err.message}`));
      });
  } catch (err) {
    main.append(message('error', `Something went wrong: ${err.message}`));
  }
  // Move focus to the new view's heading after in-app navigation (not on first load), as a page load would.
  if (!first) (main.querySelector('h1') ?? main).focus({ preventScroll: false });
  first = false;
}

document.getElementById('skip-link').addEventListener('click', (e) => {
  e.preventDefault();
  main.focus();
});

const headerJobs = document.getElementById('header-jobs');
subscribeJobs((snap) => {
  if (snap.state === 'ok' && snap.active.length) {
    replace(
      headerJobs,
      h(
        'a',
        { href: route('/jobs') },
        `${snap.active.length} job${snap.active.length === 1 ? '' : 's'} running`,
      ),
    );
  } else headerJobs.replaceChildren();
});

window.addEventListener('hashchange', navigate);
navigate();
