// The client layer in one import: transports, informers, work queues, controllers, events.
export * from './transport.js';
export * from './keys.js';
export * from './store.js';
export * from './informer.js';
export * from './workqueue.js';
export * from './controller.js';
export * from './events.js';
export { LocalTransport } from './local-transport.js';
export type { LocalTransportOptions } from './local-transport.js';
export { HttpTransport, loadKubeconfig, statusErrorFromObject } from './http-transport.js';
export type { ClientConfig, HttpTransportOptions } from './http-transport.js';
