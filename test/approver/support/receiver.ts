import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  at: number;
}

/**
 * A local HTTP server standing in for Slack's incoming webhook and response_url, and for a generic
 * webhook receiver: it records every request, and answers with the statuses queued for a path
 * (then 200), so tests can make deliveries fail and watch them retried.
 */
export class Receiver {
  readonly requests: Received[] = [];
  private readonly failures: { path: string; status: number; bodyIncludes: string | undefined }[] = [];

  private readonly server: Server;
  url = '';

  private constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = req.url ?? '/';
        const body = Buffer.concat(chunks).toString('utf8');
        this.requests.push({ path, headers: req.headers, body, at: Date.now() });
        const status = this.takeFailure(path, body) ?? 200;
        res.statusCode = status;
        res.end(status === 200 ? 'ok' : 'failing on purpose');
      });
    });
  }

  static async start(): Promise<Receiver> {
    const r = new Receiver();
    await new Promise<void>((resolve) => r.server.listen(0, '127.0.0.1', resolve));
    r.url = `http://127.0.0.1:${(r.server.address() as AddressInfo).port}`;
    return r;
  }

  /** The next deliveries to `path` (whose body holds `bodyIncludes`, if given) get these statuses, in order. */
  failNext(path: string, statuses: readonly number[], bodyIncludes?: string): void {
    for (const status of statuses) this.failures.push({ path, status, bodyIncludes });
  }

  private takeFailure(path: string, body: string): number | undefined {
    const i = this.failures.findIndex((f) => f.path === path && (f.bodyIncludes === undefined || body.includes(f.bodyIncludes)));
    return i < 0 ? undefined : this.failures.splice(i, 1)[0]!.status;
  }

  on(path: string): Received[] {
    return this.requests.filter((r) => r.path === path);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }
}
