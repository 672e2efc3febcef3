// One-shot readiness probes: a TCP connect and an HTTP GET, each with its own deadline, no keep-alive
// (a pooled socket would keep the test process alive after the server is gone).
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';

/** The longest a single probe may take. */
export const PROBE_TIMEOUT_MS = 2_000;

/** Resolves true when a TCP connection to host:port opens within `timeoutMs`, false otherwise. */
export function canConnect(host: string, port: number, timeoutMs = PROBE_TIMEOUT_MS): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export interface HttpResponse {
  status: number;
  body: string;
}

/** A GET of `url` (http or https). Rejects on a connection error or when it takes over `timeoutMs`. */
export function httpGet(url: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const request = url.startsWith('https:') ? httpsRequest : httpRequest;
    const req = request(url, { method: 'GET', agent: false, headers: { connection: 'close' }, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.once('error', reject);
      res.once('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.once('timeout', () => req.destroy(new Error(`GET ${url} took over ${timeoutMs}ms`)));
    req.once('error', reject);
    req.end();
  });
}
