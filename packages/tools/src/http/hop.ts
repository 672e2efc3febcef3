import type { LookupAddress, LookupOptions } from 'node:dns';
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { ToolCallError, ToolRetryableError } from '../errors.js';
import type { ResolvedAddress } from './policy.js';

/** Statuses whose Location the fetch loop follows (after checking it). */
export const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

export interface Hop {
  readonly url: URL;
  /** The checked addresses: the connection goes to one of these and to nothing else. */
  readonly addresses: readonly ResolvedAddress[];
  readonly method: 'GET' | 'POST';
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer | undefined;
}

export interface HopResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** Set on a redirect: its body is not read. */
  readonly location: string | undefined;
  readonly body: Buffer;
  readonly truncated: boolean;
}

/**
 * A `lookup` that answers with the addresses already checked, so DNS cannot answer differently between
 * the check and the connect (rebinding). Node asks with `all: true` when it tries several addresses
 * (autoSelectFamily, the default on Node 20) and for one address otherwise.
 */
export function pinnedLookup(addresses: readonly ResolvedAddress[]): LookupFunction {
  return (_hostname: string, options: LookupOptions, callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void) => {
    const usable = options.family === 4 || options.family === 6 ? addresses.filter((a) => a.family === options.family) : addresses;
    if (usable.length === 0) return callback(Object.assign(new Error('no checked address of the requested family'), { code: 'ENOTFOUND' }), '', 0);
    if (options.all === true) return callback(null, usable.map((a) => ({ address: a.address, family: a.family })));
    callback(null, usable[0]!.address, usable[0]!.family);
  };
}

/** One request/response on a pinned connection, body bounded to `maxBytes`, aborted by `signal`. */
export function sendHop(hop: Hop, opts: { maxBytes: number; signal: AbortSignal }): Promise<HopResponse> {
  const send = hop.url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<HopResponse>((resolve, reject) => {
    const req = send({
      protocol: hop.url.protocol,
      hostname: hop.url.hostname.replace(/^\[|\]$/g, ''),
      port: hop.url.port === '' ? undefined : Number(hop.url.port),
      path: `${hop.url.pathname}${hop.url.search}`,
      method: hop.method,
      headers: hop.headers,
      // A fresh connection per hop: a pooled socket could belong to an earlier, differently pinned hop.
      agent: false,
      lookup: pinnedLookup(hop.addresses),
      signal: opts.signal,
    });
    req.on('error', (err) => reject(hopError(err, hop.url, opts.signal)));
    req.on('response', (res) => {
      const location = REDIRECT_STATUSES.has(res.statusCode ?? 0) ? res.headers.location : undefined;
      if (location !== undefined) {
        res.destroy();
        return resolve({ status: res.statusCode ?? 0, headers: res.headers, location, body: Buffer.alloc(0), truncated: false });
      }
      readBounded(res, opts.maxBytes).then(({ body, truncated }) => resolve({ status: res.statusCode ?? 0, headers: res.headers, location: undefined, body, truncated }), (err: unknown) => reject(hopError(err, hop.url, opts.signal)));
    });
    req.end(hop.body);
  });
}

function readBounded(res: IncomingMessage, maxBytes: number): Promise<{ body: Buffer; truncated: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      if (size + chunk.length <= maxBytes) {
        chunks.push(chunk);
        size += chunk.length;
        return;
      }
      chunks.push(chunk.subarray(0, maxBytes - size));
      // Stop reading: the rest is never downloaded, so a huge response costs no more than maxBytes.
      res.destroy();
      resolve({ body: Buffer.concat(chunks), truncated: true });
    });
    res.on('end', () => resolve({ body: Buffer.concat(chunks), truncated: false }));
    res.on('error', reject);
    // Closed before its end (an abort, a reset): after `end` or a truncation this is a no-op.
    res.on('close', () => reject(new Error('the response ended early')));
  });
}

const TLS_CODES = /^(CERT_|ERR_TLS_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_(GET|VERIFY)_)/;

function hopError(err: unknown, url: URL, signal: AbortSignal): Error {
  if (signal.aborted) return new ToolRetryableError('timeout', `${url.origin} did not answer in time`);
  const raw = (err as { code?: unknown }).code;
  const code = typeof raw === 'string' ? raw : '';
  if (TLS_CODES.test(code)) return new ToolCallError('tls_failed', `TLS with ${url.host} failed: ${code}`);
  return new ToolRetryableError('connection_failed', `request to ${url.origin} failed: ${code || String(err)}`, undefined, { cause: err });
}
