// The pure domain of vm-ci: no I/O, imported by the functions and adapters.
export * from './test';
export * from './transitions';
export * from './github';
export * from './messages';
export * from './naming';
export * from './new-test';
export * from './title';
