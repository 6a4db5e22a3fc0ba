import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import ajvFormats from 'ajv-formats';
import { loadOpenapi } from '@btfwatch/api';
import { SHARED_ERROR_STATUS } from '../../support/api/shared-errors.ts';

// The examples in openapi.yaml are real responses (scripts/openapi-examples.ts records them): each must
// still match its schema, so a schema change that real responses no longer fit cannot go unnoticed.

type Json = Record<string, unknown>;
const spec = loadOpenapi() as Json;

/** The spec's schema with every `#/...` $ref replaced by its target (the contract has no cycles). */
function deref(node: unknown, seen: string[] = []): unknown {
  if (Array.isArray(node)) return node.map((n) => deref(n, seen));
  if (node === null || typeof node !== 'object') return node;
  const ref = (node as Json).$ref;
  if (typeof ref === 'string') {
    assert.ok(ref.startsWith('#/'), `only local refs: ${ref}`);
    assert.ok(!seen.includes(ref), `cycle through ${ref}`);
    let target: unknown = spec;
    for (const part of ref.slice(2).split('/')) target = (target as Json)[part.replace(/~1/g, '/')];
    assert.ok(target !== undefined, `dangling ${ref}`);
    return deref(target, [...seen, ref]);
  }
  return Object.fromEntries(
    Object.entries(node as Json)
      .filter(([k]) => k !== 'example' && k !== 'examples')
      .map(([k, v]) => [k, deref(v, seen)]),
  );
}

// The Ajv the service validates its responses with (@fastify/response-validation's), configured as app.ts does.
interface ValidateFunction {
  (data: unknown): boolean;
  errors?: unknown[] | null;
}
interface AjvLike {
  compile(schema: Json): ValidateFunction;
  errorsText(errors: unknown): string;
}
const requireFromPlugin = createRequire(
  createRequire(import.meta.url).resolve('@fastify/response-validation'),
);
const { default: Ajv } = requireFromPlugin('ajv') as { default: new (o: Json) => AjvLike };
const ajv = new Ajv({ strict: false, allErrors: true, coerceTypes: false, removeAdditional: false });
(ajvFormats as unknown as (a: AjvLike) => void)(ajv);

function validator(schema: unknown): ValidateFunction {
  return ajv.compile(deref(schema) as Json);
}

interface Example {
  where: string;
  value: unknown;
  schema: unknown;
}

/** Every example in the document: media-type `example`/`examples` and schema-level `example`. */
function examples(): Example[] {
  const out: Example[] = [];
  const visit = (node: unknown, where: string) => {
    if (Array.isArray(node)) return node.forEach((n, i) => visit(n, `${where}/${i}`));
    if (node === null || typeof node !== 'object') return;
    const o = node as Json;
    if (o.schema !== undefined && ('example' in o || 'examples' in o)) {
      if ('example' in o) out.push({ where: `${where}/example`, value: o.example, schema: o.schema });
      for (const [name, ex] of Object.entries((o.examples ?? {}) as Record<string, Json>))
        out.push({ where: `${where}/examples/${name}`, value: ex.value, schema: o.schema });
    } else if ('example' in o && ('type' in o || 'properties' in o || '$ref' in o)) {
      out.push({ where: `${where}/example`, value: o.example, schema: o });
    }
    for (const [k, v] of Object.entries(o))
      if (k !== 'example' && k !== 'examples') visit(v, `${where}/${k}`);
  };
  visit(spec, '#');
  return out;
}

test('every example in openapi.yaml matches its schema', () => {
  const all = examples();
  assert.ok(all.length >= 30, `${all.length} examples`);
  const failures: string[] = [];
  for (const ex of all) {
    const validate = validator(ex.schema);
    if (!validate(ex.value)) failures.push(`${ex.where}: ${ajv.errorsText(validate.errors)}`);
  }
  assert.deepEqual(failures, []);
});

test('every operation has a recorded example of its success response', () => {
  const missing: string[] = [];
  for (const [path, item] of Object.entries(spec.paths as Record<string, Record<string, Json>>)) {
    for (const [method, op] of Object.entries(item)) {
      const responses = op.responses as Record<string, Json>;
      for (const [status, response] of Object.entries(responses)) {
        if (!status.startsWith('2') || !response.content) continue;
        for (const [type, media] of Object.entries(response.content as Record<string, Json>)) {
          const named = Object.values((media.examples ?? {}) as Record<string, Json>);
          if (named.length === 0 || named.some((e) => typeof e.summary !== 'string'))
            missing.push(`${method.toUpperCase()} ${path} ${status} ${type}`);
        }
      }
    }
  }
  assert.deepEqual(missing, []);
});

test('examples of shared error responses are the Error schema with the status they document', () => {
  const responses = (spec.components as Json).responses as Record<string, Json>;
  for (const [name, status] of Object.entries(SHARED_ERROR_STATUS)) {
    const media = (responses[name]!.content as Record<string, Json>)['application/json']!;
    const named = Object.values((media.examples ?? {}) as Record<string, Json>);
    assert.equal(named.length, 1, name);
    assert.equal((named[0]!.value as Json).statusCode, status, name);
  }
});
