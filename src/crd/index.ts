// The model: one TypeBox schema per kind, from which the TypeScript types, the validators and the
// CRD manifests are all derived.
export * from './listener-class.ts';
export * from './listener.ts';
export * from './pod-listeners.ts';
export { buildCrds, crdsYaml } from './crds.ts';
export { describeObject, parseListener, parseListenerClass, parsePodListeners, type ParseResult } from './parse.ts';
export type { JsonObject } from './schema-kit.ts';
export type { Plain } from './plain.ts';
