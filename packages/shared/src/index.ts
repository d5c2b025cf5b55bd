// The root export keeps working: everything from the three subpaths (contracts, store, runtime).
export * from './contracts';
export * from './store/index';
export * from './runtime';
