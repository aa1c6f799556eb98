/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.(t|j|mj)s$': ['@swc/jest'] },
  // ESM-only packages (Octokit and what it pulls in) go through swc too.
  transformIgnorePatterns: [
    '/node_modules/(?!(@octokit|universal-user-agent|universal-github-app-jwt|before-after-hook|content-type|fast-content-type-parse|json-with-bigint|toad-cache)/)',
  ],
  // Its exports map has only "import"/"default" conditions Jest's resolver skips.
  moduleNameMapper: {
    '^@octokit/webhooks-methods$':
      '<rootDir>/node_modules/@octokit/webhooks-methods/dist-node/index.js',
  },
  moduleFileExtensions: ['ts', 'js', 'mjs', 'cjs', 'json'],
  // The real Cloud Storage client works in every test file's sandbox (see the file).
  setupFiles: ['<rootDir>/test/files/storage-transport.ts'],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 30000,
};
