import fc from 'fast-check';
import { expect4xx, type HttpReport } from './http.js';
import { DEEP_LEVELS } from './payloads.js';

const PER_KIND = 20;

/**
 * Bad calls to the console's runs API, authenticated with an operate token (a wrong token is the API
 * tests' part): submits whose bodies are not JSON, nested DEEP_LEVELS deep, unicode junk or over the body
 * limit; resume, re-run and cancel of runs that do not exist (junk ids) or with junk bodies; cancel by
 * labels with junk; list queries with junk parameters. Each must get a 4xx, never a 5xx or silence.
 */
export async function sendConsoleJunk(base: string, token: string, seed: number, maxPayload: number): Promise<HttpReport> {
  const r: HttpReport = { sent: 0, closedEarly: 0, unexpected: [] };
  const api = `${base}/api/v1`;
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const post = (what: string, path: string, body: string | Uint8Array, oversized = false) => expect4xx(r, what, `${api}${path}`, { method: 'POST', headers, body }, oversized);
  const get = (what: string, path: string) => expect4xx(r, what, `${api}${path}`, { headers });
  const junk = fc.sample(fc.string({ unit: 'binary', minLength: 1, maxLength: 60 }), { seed, numRuns: PER_KIND });
  const notJson = fc.sample(fc.string({ maxLength: 80 }).map((s) => `{${s}`), { seed: seed + 1, numRuns: PER_KIND });
  const ids = fc.sample(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }), { seed: seed + 2, numRuns: PER_KIND });
  const deep = (i: number) => (i % 2 ? `{"input":${'['.repeat(DEEP_LEVELS)}${']'.repeat(DEEP_LEVELS)}}` : `{"pipeline":${'{"a":'.repeat(DEEP_LEVELS)}1${'}'.repeat(DEEP_LEVELS)}}`);
  for (let i = 0; i < PER_KIND; i++) {
    const id = encodeURIComponent(ids[i]!);
    const j = junk[i]!;
    await post('submit: not JSON', '/runs', notJson[i]!);
    await post('submit: junk', '/runs', JSON.stringify({ pipeline: { name: j, steps: [{ id: j }] }, input: { [j]: j }, [`\u0000${j}`]: 1 }));
    await post('submit: deep', '/runs', deep(i));
    await post('resume: unknown run', `/runs/${id}/resume`, JSON.stringify({ budget: { maxUsd: 1 } }));
    await post('resume: junk body', `/runs/fuzz-nope/resume`, JSON.stringify({ budget: { maxUsd: j }, limits: { [j]: 1 } }));
    await post('rerun: unknown run', `/runs/${id}/rerun`, JSON.stringify({ fromStep: 'a' }));
    await post('cancel: unknown run', `/runs/${id}/cancel`, i % 2 ? notJson[i]! : JSON.stringify({ reason: j }));
    await post('cancel by labels: junk', '/runs/cancel', i % 2 ? deep(i) : JSON.stringify({ labels: j }));
    await get('list: junk status', `/runs?status=${encodeURIComponent(`x${j}`)}`);
    await get('list: junk cursor', `/runs?cursor=${encodeURIComponent(`!${j}`)}`);
    await get('list: junk limit', `/runs?limit=${encodeURIComponent(`x${j}`)}`);
    await get('get: unknown run', `/runs/${id}`);
  }
  // over the body limit (PW_CONSOLE_MAX_BODY_BYTES, 1 MiB)
  for (let i = 0; i < 3; i++) await post('submit: oversized', '/runs', new Uint8Array(maxPayload + 1 + i * 1_000).fill(0x20), true);
  return r;
}
