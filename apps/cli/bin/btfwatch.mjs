#!/usr/bin/env node
// Runs the built CLI (dist/); `npm run btfwatch -- ...` runs the TypeScript sources directly. Only main and
// the error reporter are loaded here: each command loads what it needs when it runs.
import { main } from '../dist/main.js';
import { reportFatal } from '../dist/fatal.js';

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err) => {
    process.exitCode = reportFatal(err);
  },
);
