#!/usr/bin/env node
'use strict';
// The compiled CLI lives in dist/ (built by `npm run build`, which `npm ci` runs through `prepare`).
try {
  require('../dist/src/cli/main.js').main(process.argv);
} catch (err) {
  if (err && err.code === 'MODULE_NOT_FOUND' && String(err.message).includes('dist/src/cli/main.js')) {
    process.stderr.write('rulebot: not built yet; run `npm run build` (npm ci does it through prepare)\n');
    process.exit(1);
  }
  throw err;
}
