#!/usr/bin/env node
// Thin launcher so `npx tollgate` works from the checkout after `npm install` (which builds dist/).
// A larger young generation (as `npm start` gives the API and worker): a replay allocates a lot
// of short-lived objects, and with the default size many of them are copied to the old
// generation before they die. Set before anything is loaded, it takes effect as the heap grows.
require('v8').setFlagsFromString('--max-semi-space-size=64');
require('../dist/src/cli.js');
