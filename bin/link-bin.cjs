// `npx smitin` should start at once after `npm ci`. npm links the bins of dependencies into
// node_modules/.bin but not the project's own; and when the project's package.json names a bin
// `smitin`, npx installs this folder into its cache on first use (running tsc again: about 20 s).
// So package.json names the global command `smitin-live`, and `smitin` is linked here, at `npm ci`.
const { mkdirSync, rmSync, symlinkSync } = require('node:fs');
const { join } = require('node:path');

const dir = join(__dirname, '..', 'node_modules', '.bin');
try {
  mkdirSync(dir, { recursive: true });
  rmSync(join(dir, 'smitin'), { force: true });
  symlinkSync(join('..', '..', 'bin', 'smitin.js'), join(dir, 'smitin'));
} catch (err) {
  // not fatal: `node bin/smitin.js` always works
  process.stderr.write(`note: could not link node_modules/.bin/smitin (${err.message}); run the CLI as node bin/smitin.js\n`);
}
