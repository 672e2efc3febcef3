import fc from 'fast-check';
import { DEEP_LEVELS } from './payloads.js';

/** How long one call may take before it counts as unanswered. */
const CALL_TIMEOUT_MS = 10_000;
const PER_KIND = 25;

export interface HttpReport {
  sent: number;
  /** Oversized bodies the server answered 413 but stopped reading, closing the socket before the upload ended. */
  closedEarly: number;
  /** Calls answered with anything but a 4xx (a 5xx, no answer, a 2xx to junk), with what was sent. */
  unexpected: string[];
}

/**
 * Bad calls to the approver's decision API, authenticated (a wrong token is the security suite's part):
 * bodies that are not JSON, nested DEEP_LEVELS deep, unicode junk, over the body limit, and well-formed
 * decisions on approvals that do not exist or with junk ids. Each must get a 4xx, never a 5xx or silence.
 */
export async function sendHttpJunk(base: string, token: string, seed: number, maxPayload: number): Promise<HttpReport> {
  const r: HttpReport = { sent: 0, closedEarly: 0, unexpected: [] };
  const verbs = ['approve', 'reject', 'edit'] as const;
  const call = (what: string, id: string, verb: string, body: string | Uint8Array) =>
    expect4xx(r, `${what} ${verb}`, `${base}/api/approvals/${encodeURIComponent(id)}/${verb}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body }, what === 'oversized');
  const junk = fc.sample(fc.string({ unit: 'binary', minLength: 1, maxLength: 60 }), { seed, numRuns: PER_KIND });
  const notJson = fc.sample(fc.string({ maxLength: 80 }).map((s) => `{${s}`), { seed: seed + 1, numRuns: PER_KIND });
  const ids = fc.sample(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }), { seed: seed + 2, numRuns: PER_KIND });
  const deep = (i: number) => (i % 2 ? `{"reason":${'['.repeat(DEEP_LEVELS)}${']'.repeat(DEEP_LEVELS)}}` : `{"arguments":${'{"a":'.repeat(DEEP_LEVELS)}1${'}'.repeat(DEEP_LEVELS)}}`);
  for (let i = 0; i < PER_KIND; i++) {
    const verb = verbs[i % verbs.length]!;
    await call('not JSON', 'fuzz-run-1:a:1', verb, notJson[i]!);
    await call('junk', 'fuzz-run-1:a:1', verb, JSON.stringify({ reason: junk[i], arguments: { [junk[i]!]: junk[i] }, [`\u0000${junk[i]}`]: 1 }));
    await call('deep', 'fuzz-run-1:a:1', verb, deep(i));
    await call('unknown approval', ids[i]!, verb, JSON.stringify(verb === 'edit' ? { arguments: { a: 1 } } : verb === 'reject' ? { reason: 'fuzz' } : {}));
  }
  // over the body limit (1 MiB, the same as the bus's max_payload)
  for (let i = 0; i < 3; i++) await call('oversized', 'fuzz-run-1:a:1', verbs[i]!, new Uint8Array(maxPayload + 1 + i * 1_000).fill(0x20));
  return r;
}

/**
 * One call that must be refused with a 4xx: anything else (a 5xx, a 2xx to junk, no answer) is recorded
 * in `r.unexpected`. `oversized`: a reset while still uploading counts as `closedEarly` (see below).
 */
export async function expect4xx(r: HttpReport, what: string, url: string, init: RequestInit, oversized = false): Promise<void> {
  r.sent++;
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(CALL_TIMEOUT_MS) });
    await res.arrayBuffer();
    if (res.status < 400 || res.status >= 500) r.unexpected.push(`${what}: ${res.status}`);
  } catch (err) {
    // @hono/node-server answers 413 at once, then drains the rest of the body for at most 500 ms and
    // closes the socket: on a loaded machine the client may still be uploading and see the reset.
    if (oversized && socketClosed(err)) return void r.closedEarly++;
    r.unexpected.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function socketClosed(err: unknown): boolean {
  const cause = (err as { cause?: { code?: string } }).cause;
  return ['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET'].includes(cause?.code ?? '');
}
