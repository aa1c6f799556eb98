// GitHub: clients, commit statuses, and publishing a test's state.
export * from './client';
export * from './errors';
export * from './lookups';
export * from './memory-lookups';
export * from './memory-statuses';
export * from './publish';
export * from './repo';
export * from './retry';
export * from './statuses';
