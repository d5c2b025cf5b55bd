/** The fault suite: the root Jest setup, on scripts/faults/*.fault.ts only (never part of `npm test`). */
const base = require('../../jest.config.js');

module.exports = {
  ...base,
  rootDir: '../..',
  roots: ['<rootDir>/scripts/faults'],
  testMatch: ['**/*.fault.ts'],
  testTimeout: 30 * 60_000,
  maxWorkers: 1,
  reporters: ['default'],
  // A service or socket a failed scenario left behind must not keep CI waiting.
  forceExit: true,
};
