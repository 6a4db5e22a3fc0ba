// `node --import <this file>`: every module URL the process resolves through the ESM loader (imports of CJS
// packages included) is appended to the file named by BTFWATCH_RECORD_IMPORTS, one per line.
import { register } from 'node:module';

register('./hooks.mjs', import.meta.url, { data: { file: process.env.BTFWATCH_RECORD_IMPORTS } });
