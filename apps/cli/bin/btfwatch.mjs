#!/usr/bin/env node
// Runs the built CLI (dist/); `npm run btfwatch -- ...` runs the TypeScript sources directly.
import { main, reportFatal } from '../dist/index.js';

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err) => {
    process.exitCode = reportFatal(err);
  },
);
