#!/usr/bin/env node
'use strict';
// The `poolmigrate` command npm links onto PATH: it runs the prebuilt
// binary of this platform with the same arguments, in the same terminal,
// and exits with its code.
const { spawnSync } = require('child_process');
const { binary } = require('./index.js');

let bin;
try {
  bin = binary();
} catch (e) {
  process.stderr.write('poolmigrate: ' + e.message + '\n');
  process.exit(1);
}
const r = spawnSync(bin, process.argv.slice(2), { stdio: 'inherit' });
if (r.error) {
  process.stderr.write('poolmigrate: run ' + bin + ': ' + r.error.message + '\n');
  process.exit(1);
}
process.exit(r.status === null ? 1 : r.status);
