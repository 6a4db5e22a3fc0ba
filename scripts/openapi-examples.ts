// Records a real response of every operation into openapi.yaml as its example (see test/support/api/record-examples.ts).
// Usage: node --conditions=btfwatch-source --import tsx scripts/openapi-examples.ts
import { execFileSync } from 'node:child_process';
import { recordExamples } from '../test/support/api/record-examples.ts';

const { operations, errors } = await recordExamples();
execFileSync('npx', ['prettier', '--write', 'openapi.yaml'], {
  cwd: new URL('..', import.meta.url),
  stdio: 'inherit',
});
console.log(`openapi.yaml: examples of ${operations} operations and ${errors} error responses written`);
