#!/usr/bin/env node
// `vmci`: the operator CLI (infra/cli/main.ts), run from the TypeScript source.
'use strict';
require('@swc-node/register');
const { main } = require('./main.ts');

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Google clients may keep sockets open a while: never let them hold the shell.
    setTimeout(() => process.exit(code), 3000).unref();
  },
  (error) => {
    process.stderr.write(
      `vmci: ${error && error.message ? error.message.split('\n')[0] : error}\n`,
    );
    process.exit(1);
  },
);
