// Preloaded (NODE_OPTIONS=--require) by test/sync/link.test.ts: `abletonlink` cannot be found, as on a machine where
// the optional dependency was not installed or failed to build. Child processes inherit it.
const Module = require('node:module');

const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request === 'abletonlink') throw Object.assign(new Error("Cannot find module 'abletonlink'"), { code: 'MODULE_NOT_FOUND' });
  return resolve.call(this, request, ...rest);
};
