#!/usr/bin/env node
// The compiled CLI lives in dist/ (built by `npm ci` through the prepare script, or `npm run build`).
import { main } from '../dist/src/cli/main.js';

// output piped into a reader that stops early (head, a closed pager) ends the command quietly, as Unix tools do
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const code = await main(process.argv);
// a failed command ends here: a timer or handle its error left behind (a progress bar, a worker) must not keep it waiting
if (code !== 0) process.exit(code);
process.exitCode = code;
