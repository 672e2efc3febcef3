import { createRequire } from 'node:module';
import type * as IpAddr from 'ipaddr.js';

/**
 * ipaddr.js is CommonJS with `export =` typings: a default import needs esModuleInterop, and a
 * namespace import finds no named exports at run time (it assigns module.exports whole). Loading it
 * with require keeps both the types and the run-time object right.
 */
export const ipaddr = createRequire(import.meta.url)('ipaddr.js') as typeof IpAddr;
export type IPv4 = IpAddr.IPv4;
export type IPv6 = IpAddr.IPv6;
