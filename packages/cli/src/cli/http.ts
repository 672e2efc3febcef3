import { errorMessage } from '@pipewright/kit';
import { z } from 'zod';
import { NotFoundError, RefusedError, UnavailableError, type CliError } from './errors.js';

/** A request to a Pipewright HTTP API that takes longer than this is given up (exit 4). */
export const REQUEST_TIMEOUT_MS = 15_000;
/** An answer larger than this is refused unread: a run's detail with its outputs is far smaller. */
export const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/** One of Pipewright's HTTP APIs, with the names people configure it by (for error hints). */
export interface HttpService {
  /** `console`, `approver`: how messages name it. */
  name: string;
  url: string | undefined;
  token: string | undefined;
  /** `PW_CONSOLE_URL or --console-url`. */
  urlSetting: string;
  tokenSetting: string;
}

export interface HttpAnswer {
  status: number;
  body: unknown;
}

/** A configured service, or the error that says which variables to set (exit 4). */
export function configured(s: HttpService, hint: string): { url: string; token: string } {
  if (s.url && s.token) return { url: s.url.replace(/\/+$/, ''), token: s.token };
  const missing = [...(s.url ? [] : [s.urlSetting]), ...(s.token ? [] : [s.tokenSetting])];
  return notConfigured(s, missing, hint);
}

function notConfigured(s: HttpService, missing: string[], hint: string): never {
  throw new UnavailableError(`the ${s.name} is not configured: set ${missing.join(' and ')}`, [hint], 'not_configured');
}

/**
 * A kept-alive connection the server closed while it idled fails the next request before it is sent
 * (`other side closed`): a read is sent once more on a fresh connection. An operation is not — it may
 * have arrived, and a re-run sent twice would be two runs.
 */
const STALE_CONNECTION = new Set(['UND_ERR_SOCKET', 'ECONNRESET']);

/** Sends one request with a bearer token; the answer's JSON, whatever its status. Network trouble is exit 4. */
export async function sendJson(s: HttpService, method: string, path: string, opts: { body?: unknown; headers?: Record<string, string>; hint: string }): Promise<HttpAnswer> {
  const { url, token } = configured(s, opts.hint);
  const send = () =>
    fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, accept: 'application/json', 'x-pipewright-client': 'cli', ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}), ...opts.headers },
      ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      redirect: 'error', // a redirect could carry the token elsewhere
    });
  let res: Response;
  try {
    res = await send().catch((err: unknown) => {
      if (method === 'GET' && STALE_CONNECTION.has(codeOf(err) ?? '')) return send();
      throw err;
    });
  } catch (err) {
    const why = err instanceof DOMException && err.name === 'TimeoutError' ? `no answer in ${REQUEST_TIMEOUT_MS / 1000} s` : causeOf(err);
    throw new UnavailableError(`cannot reach the ${s.name} at ${url}: ${why}`, [`check ${s.urlSetting}; ${opts.hint}`]);
  }
  const text = await readCapped(res, s);
  if (text === '') return { status: res.status, body: undefined };
  try {
    return { status: res.status, body: JSON.parse(text) as unknown };
  } catch {
    throw new UnavailableError(`the ${s.name} at ${url} answered HTTP ${res.status} with something other than JSON`, [`is ${s.urlSetting} the ${s.name}'s address?`]);
  }
}

async function readCapped(res: Response, s: HttpService): Promise<string> {
  const declared = Number(res.headers.get('content-length') ?? '0');
  if (declared > MAX_RESPONSE_BYTES) throw new UnavailableError(`the ${s.name}'s answer is too large (${declared} bytes)`);
  if (!res.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > MAX_RESPONSE_BYTES) throw new UnavailableError(`the ${s.name}'s answer is larger than ${MAX_RESPONSE_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** fetch's `TypeError: fetch failed` hides the reason (ECONNREFUSED, ENOTFOUND) in its cause. */
function codeOf(err: unknown): string | undefined {
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : undefined;
  return cause && 'code' in cause && typeof cause.code === 'string' ? cause.code : undefined;
}

function causeOf(err: unknown): string {
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : undefined;
  const code = codeOf(err);
  return code ? `${code}${cause?.message && !cause.message.includes(code) ? ` (${cause.message})` : ''}` : errorMessage(cause ?? err);
}

/** The error body both APIs answer with: the runs API's `{ error: { code, message, issues } }`, or the approver's flat one. */
const ErrorBody = z.union([
  z.object({
    error: z.object({ code: z.string(), message: z.string(), issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(), differences: z.array(z.string()).optional() }),
  }),
  z.object({ error: z.string(), message: z.string().optional(), issues: z.array(z.object({ path: z.string(), message: z.string() })).optional() }),
]);

/**
 * The CLI error for an answer that is not a success: 404 → not found (exit 3); 401/403 and 5xx →
 * unavailable (exit 4, with a hint about the token); other 4xx → refused (exit 1, with invalid fields).
 */
export function errorFor(s: HttpService, a: HttpAnswer, notFound?: string): CliError {
  const parsed = ErrorBody.safeParse(a.body);
  const e = !parsed.success
    ? { code: `http_${a.status}`, message: `HTTP ${a.status}`, issues: [], differences: [] }
    : typeof parsed.data.error === 'string'
      ? { code: parsed.data.error, message: 'message' in parsed.data && parsed.data.message ? parsed.data.message : parsed.data.error, issues: 'issues' in parsed.data ? (parsed.data.issues ?? []) : [], differences: [] }
      : { ...parsed.data.error, issues: parsed.data.error.issues ?? [], differences: parsed.data.error.differences ?? [] };
  const details = [...e.issues.map((i) => `${i.path}: ${i.message}`), ...(e.differences.length > 0 ? [`differs at: ${e.differences.join(', ')}`] : [])];
  const said = e.message === e.code ? e.code : `${e.code}: ${e.message}`;
  if (a.status === 404) return new NotFoundError(notFound ?? said);
  if (a.status === 401) return new UnavailableError(`${said} (the ${s.name} refused the token)`, [`check ${s.tokenSetting}`], 'unauthorized');
  if (a.status === 403) return new UnavailableError(`${said} (the ${s.name} does not let this token do that)`, [`changing runs needs a token with the operate role (${s.tokenSetting})`], 'forbidden');
  if (a.status >= 400 && a.status < 500) return new RefusedError(e.code, said, details);
  return new UnavailableError(`${said} (the ${s.name} answered HTTP ${a.status})`, details, e.code);
}
