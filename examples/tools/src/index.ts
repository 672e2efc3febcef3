// The example tools, for tests and for copying.
export { serveLookupOrder } from './lookup-order.js';
export { serveRefund } from './refund.js';
export type { Refund } from './refund.js';
export { findOrder } from './orders.js';
export type { Order } from './orders.js';
