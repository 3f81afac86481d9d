// The OTLP exporter's transport loads node:http with import(), which jest's CommonJS sandbox
// refuses (silently: no trace is ever sent); compiled, it is a require.
const ESM_PACKAGES = ['openid-client', 'oauth4webapi', 'jose', '@opentelemetry/otlp-exporter-base'];

/** One jest run for every tier: unit (pure), integration (real Postgres/Redis), e2e (booted app). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test', '<rootDir>/src', '<rootDir>/projections'],
  testMatch: ['**/*.spec.ts', '**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest'], '^.+\\.m?js$': ['@swc/jest'] },
  // Packages that ship only ES modules (or load one with import()) are compiled to CommonJS for
  // jest like our own code; Node 20 runs them natively outside jest. Everything else in
  // node_modules is left alone.
  transformIgnorePatterns: [`/node_modules/(?!(${ESM_PACKAGES.join('|')})/)`],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  setupFiles: ['<rootDir>/test/support/setup-env.ts'],
  testTimeout: 60_000,
  maxWorkers: 2,
  // A worker that has run many app-booting files holds a large heap, which makes every full
  // collection slow (the export memory test collects twice a second and took 371 s in one CI
  // run, 23 s alone): a worker above this after a file is replaced by a fresh one.
  workerIdleMemoryLimit: '1GB',
};
