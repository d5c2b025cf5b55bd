/**
 * Tests run TypeScript through ts-jest in transpile-only mode (tsconfig.test.json has
 * isolatedModules); `npm run typecheck` type-checks. No native transformer: its per-platform
 * optional packages break `npm ci` on lockfiles written by another platform (npm/cli#4828).
 */
/** ESM-only packages the API pulls in (light-my-request → cookie 1, @fastify/static → content-disposition 3, jose for session tokens). */
const ESM_ONLY = ['content-disposition', 'cookie', 'jose'].join('|');

module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/packages', '<rootDir>/services', '<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.test.json' }],
    // Compiled to CommonJS for Jest; Node itself loads them with require(esm).
    [`/node_modules/(${ESM_ONLY})/.+\\.js$`]: ['ts-jest', { tsconfig: { allowJs: true, isolatedModules: true } }],
  },
  transformIgnorePatterns: [`/node_modules/(?!(${ESM_ONLY})/)`],
  // Source, not dist, for the root export and each subpath (mirrors packages/shared/package.json "exports").
  moduleNameMapper: {
    '^@wa-sync/shared$': '<rootDir>/packages/shared/src/index.ts',
    '^@wa-sync/shared/contracts$': '<rootDir>/packages/shared/src/contracts.ts',
    '^@wa-sync/shared/store$': '<rootDir>/packages/shared/src/store/index.ts',
    '^@wa-sync/shared/runtime$': '<rootDir>/packages/shared/src/runtime.ts',
    '^@wa-sync/shared/blob$': '<rootDir>/packages/shared/src/blob/index.ts',
  },
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  testTimeout: 120000,
  maxWorkers: 2,
  reporters: ['default', '<rootDir>/test/support/summary.reporter.js'],
};
