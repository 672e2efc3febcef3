import type { IncomingHttpHeaders } from 'node:http';
import { ToolCallError, ToolRetryableError } from '../errors.js';
import { untilAborted } from './abort.js';
import { sendHop } from './hop.js';
import { checkAddresses, checkUrl, HTTP_REFUSALS, type HttpPolicy, type Verdict } from './policy.js';
import type { Resolver } from './resolve.js';

export interface FetchRequest {
  readonly url: string;
  readonly method: 'GET' | 'POST';
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: Buffer | undefined;
}

export interface FetchResult {
  readonly status: number;
  /** The URL that answered (after redirects). */
  readonly url: string;
  /** Every redirect target followed, in order. */
  readonly redirects: readonly string[];
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly truncated: boolean;
}

/** Headers that carry the caller's identity: never sent on to another origin by a redirect. */
const CREDENTIAL_HEADERS = ['authorization', 'cookie', 'proxy-authorization'];

/**
 * An HTTP request that reaches only what `policy` allows. For the URL and for every redirect target,
 * in this order and before any connection: the scheme and host are checked, the host is resolved,
 * every address is checked, and the connection is pinned to the checked addresses. Refusals throw
 * ToolCallError; network failures and the time limit throw ToolRetryableError.
 */
export async function guardedFetch(req: FetchRequest, policy: HttpPolicy, deps: { resolve: Resolver; signal: AbortSignal }): Promise<FetchResult> {
  const signal = AbortSignal.any([deps.signal, AbortSignal.timeout(policy.timeoutMs)]);
  let url = parseUrl(req.url, undefined, 'url');
  let { method, body } = req;
  let headers: Record<string, string> = { ...req.headers };
  const redirects: string[] = [];
  for (;;) {
    const host = refuseUnless(checkUrl(url, policy));
    const resolved = await untilAborted(deps.resolve(host, signal), signal, () => new ToolRetryableError('timeout', `resolving ${host} took too long`));
    const addresses = refuseUnless(checkAddresses(host, resolved, policy));
    const res = await sendHop({ url, addresses, method, headers, body }, { maxBytes: policy.maxResponseBytes, signal });
    if (res.location === undefined) return { status: res.status, url: url.href, redirects, headers: res.headers, body: res.body, truncated: res.truncated };

    if (redirects.length >= policy.maxRedirects) throw new ToolCallError(HTTP_REFUSALS.redirects, `more than ${policy.maxRedirects} redirects (last to ${res.location})`);
    const next = parseUrl(res.location, url, undefined);
    if (next.origin !== url.origin) headers = withoutHeaders(headers, CREDENTIAL_HEADERS);
    // As browsers do: 303, and 301/302 after a POST, become a GET without a body; 307/308 repeat the request.
    if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
      method = 'GET';
      body = undefined;
      headers = withoutHeaders(headers, ['content-type', 'idempotency-key']);
    }
    redirects.push(next.href);
    url = next;
  }
}

function refuseUnless<T>(v: Verdict<T>): T {
  if (v.ok) return v.value;
  throw new ToolCallError(v.code, v.message);
}

function parseUrl(text: string, base: URL | undefined, path: string | undefined): URL {
  try {
    return new URL(text, base);
  } catch {
    throw new ToolCallError(path !== undefined ? 'invalid_arguments' : 'bad_redirect', `not a valid URL: ${text.slice(0, 200)}`, path);
  }
}

function withoutHeaders(headers: Record<string, string>, names: readonly string[]): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([k]) => !names.includes(k.toLowerCase())));
}
