#!/usr/bin/env node
// The compiled CLI lives in dist/ (built by `npm ci` through the prepare script, or `npm run build`).
import { main } from '../dist/src/cli/main.js';

// output piped into a reader that stops early (head, a closed pager) ends the command quietly, as Unix tools do
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

process.exitCode = await main(process.argv);
