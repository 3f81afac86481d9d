/** One jest run for every tier: unit (pure), integration (real Postgres/Redis), e2e (booted app). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test', '<rootDir>/src', '<rootDir>/projections'],
  testMatch: ['**/*.spec.ts', '**/*.test.ts'],
  // openid-client and its dependencies ship only ES modules, which jest's require cannot load
  // (Node 20 itself can): @swc/jest compiles them to CommonJS like our own sources.
  transform: { '^.+\\.ts$': ['@swc/jest'], '/node_modules/(openid-client|oauth4webapi|jose)/.+\\.js$': ['@swc/jest'] },
  transformIgnorePatterns: ['/node_modules/(?!(openid-client|oauth4webapi|jose)/)'],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  setupFiles: ['<rootDir>/test/support/setup-env.ts'],
  testTimeout: 60_000,
  maxWorkers: 2,
};
