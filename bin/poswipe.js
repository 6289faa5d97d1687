#!/usr/bin/env node
'use strict';
// Entry point: the compiled CLI lives in build/ (made by `npm install` / `npm run build`).
const path = require('path');
const fs = require('fs');
const entry = path.join(__dirname, '..', 'build', 'host', 'cli', 'main.js');
if (!fs.existsSync(entry)) {
  process.stderr.write('poswipe: error: not built yet: run `npm run build` (npm install does it)\n');
  process.exit(2);
}
require(entry)
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  });
