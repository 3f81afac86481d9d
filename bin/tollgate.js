#!/usr/bin/env node
// Thin launcher so `npx tollgate` works from the checkout after `npm install` (which builds dist/).
require('../dist/src/cli.js');
