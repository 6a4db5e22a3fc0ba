#!/usr/bin/env node
// Runs the built CLI (dist/); `npm run btfwatch -- ...` runs the TypeScript sources directly. Only main and
// the error reporter are loaded here: each command loads what it needs when it runs.
// The version check comes before them: on an older node the dependencies fail to load with errors that
// do not say what is wrong.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(
    `btfwatch: needs Node.js >= 24, this is ${process.version} (${process.execPath}).\n` +
      '  Run it through npm (npm start, npx btfwatch ...): npm ci installs Node 24 into node_modules and\n' +
      '  npm puts it first on PATH. Elsewhere, install Node.js 24 LTS.\n',
  );
  process.exit(1);
}
const { main } = await import('../dist/main.js');
const { reportFatal } = await import('../dist/fatal.js');

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err) => {
    process.exitCode = reportFatal(err);
  },
);
