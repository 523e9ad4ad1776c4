// Public surface of rulebot as a library: filled in by each area's index.
export * from './shared/errors';
