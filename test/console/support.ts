import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LocalStack } from '@pipewright/cli';
import { waitFor } from '@pipewright/devstack';

export interface Answer<T = unknown> {
  status: number;
  body: T;
  headers: Headers;
}

/** A client of a stack's console API, as any HTTP client would call it. */
export class Api {
  constructor(
    readonly base: string,
    readonly operateToken: string,
    readonly readToken: string,
  ) {}

  static of(stack: LocalStack): Api {
    if (!stack.consoleUrl || !stack.consoleToken || !stack.consoleReadToken) throw new Error('the stack runs no console');
    return new Api(stack.consoleUrl, stack.consoleToken, stack.consoleReadToken);
  }

  async call<T = Record<string, unknown>>(method: string, path: string, o: { token?: string | null; body?: unknown; raw?: string; headers?: Record<string, string> } = {}): Promise<Answer<T>> {
    const token = o.token === undefined ? (method === 'GET' ? this.readToken : this.operateToken) : o.token;
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers: { ...(token !== null ? { authorization: `Bearer ${token}` } : {}), ...(o.body !== undefined || o.raw !== undefined ? { 'content-type': 'application/json' } : {}), ...o.headers },
      ...(o.raw !== undefined ? { body: o.raw } : o.body !== undefined ? { body: JSON.stringify(o.body) } : {}),
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: kept as text
    }
    return { status: res.status, body: body as T, headers: res.headers };
  }

  get<T = Record<string, unknown>>(path: string, token?: string | null): Promise<Answer<T>> {
    return this.call<T>('GET', path, { ...(token !== undefined ? { token } : {}) });
  }

  post<T = Record<string, unknown>>(path: string, body?: unknown, headers?: Record<string, string>): Promise<Answer<T>> {
    return this.call<T>('POST', path, { ...(body !== undefined ? { body } : {}), ...(headers ? { headers } : {}) });
  }

  /** Waits (bounded) until the list shows the run with a status in `statuses`. */
  async until(runId: string, statuses: readonly string[], timeoutMs = 60_000): Promise<Record<string, unknown>> {
    return waitFor(
      `run ${runId} to be ${statuses.join('|')} in the list`,
      async () => {
        const r = await this.get<{ runs: { runId: string; status: string }[] }>(`/runs?limit=500`);
        const found = r.body.runs.find((x) => x.runId === runId);
        return found && statuses.includes(found.status) ? (found) : undefined;
      },
      { timeoutMs, intervalMs: 50 },
    );
  }
}

/** One Server-Sent Event. */
export interface Sse {
  id?: string;
  event?: string;
  data: string;
}

/**
 * Reads an event stream until it ends or `stop` says enough; returns the events and whether the server
 * ended the stream itself.
 */
export async function readSse(url: string, token: string, o: { lastEventId?: string; stop?: (events: Sse[]) => boolean; signal?: AbortSignal; onOpen?: () => void } = {}): Promise<{ events: Sse[]; ended: boolean; status: number }> {
  const abort = new AbortController();
  o.signal?.addEventListener('abort', () => abort.abort());
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}`, ...(o.lastEventId ? { 'last-event-id': o.lastEventId } : {}) }, signal: abort.signal });
  const events: Sse[] = [];
  if (res.status !== 200 || !res.body) return { events, ended: true, status: res.status };
  o.onOpen?.();
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return { events, ended: true, status: res.status };
      buf += value;
      let at: number;
      while ((at = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, at);
        buf = buf.slice(at + 2);
        const e: Sse = { data: '' };
        let isEvent = false;
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) continue;
          const [k, ...rest] = line.split(':');
          const v = rest.join(':').replace(/^ /, '');
          if (k === 'id') e.id = v;
          else if (k === 'event') e.event = v;
          else if (k === 'data') e.data += v;
          isEvent = true;
        }
        if (isEvent) events.push(e);
        if (o.stop?.(events)) {
          abort.abort();
          return { events, ended: false, status: res.status };
        }
      }
    }
  } catch (err) {
    if (abort.signal.aborted) return { events, ended: false, status: res.status };
    throw err;
  }
}

export interface Delivery {
  headers: IncomingHttpHeaders;
  body: string;
  status: number;
}

/**
 * A webhook receiver: fails the first `failFirst` attempts of each delivery id (500), then answers 200;
 * records every request and checks each signature as docs/api.md tells a receiver to.
 */
export class WebhookReceiver {
  readonly deliveries: Delivery[] = [];
  readonly badSignatures: string[] = [];
  private readonly server: Server;
  url = '';

  private constructor(
    private readonly secret: string,
    private readonly failFirst: number,
  ) {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const id = String(req.headers['pw-webhook-id']);
        const seen = this.deliveries.filter((d) => String(d.headers['pw-webhook-id']) === id).length;
        if (!signatureValid(this.secret, req.headers['pw-signature'] as string | undefined, body)) this.badSignatures.push(id);
        const status = seen < this.failFirst ? 500 : 200;
        this.deliveries.push({ headers: req.headers, body, status });
        res.statusCode = status;
        res.end();
      });
    });
  }

  static async start(secret: string, failFirst: number): Promise<WebhookReceiver> {
    const r = new WebhookReceiver(secret, failFirst);
    await new Promise<void>((resolve) => r.server.listen(0, '127.0.0.1', resolve));
    r.url = `http://127.0.0.1:${(r.server.address() as AddressInfo).port}/hook`;
    return r;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** The verification docs/api.md shows, written out independently of the console's code. */
export function signatureValid(secret: string, header: string | undefined, body: string, nowMs = Date.now()): boolean {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? '');
  if (!m) return false;
  const expected = createHmac('sha256', secret).update(`${m[1]}.${body}`).digest('hex');
  return expected === m[2] && Math.abs(nowMs / 1000 - Number(m[1])) <= 300;
}
