import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Local HTTP servers for the http tool's tests, on loopback only. Each counts the TCP connections it
 * accepted, which is how a test proves a refused URL was never connected to.
 */
export interface TestServer {
  readonly port: number;
  /** `http://127.0.0.1:PORT` or `http://[::1]:PORT` */
  readonly origin: string;
  connections: number;
  requests: { method: string; url: string; headers: IncomingMessage['headers'] }[];
  close(): Promise<void>;
}

type Route = (req: IncomingMessage, res: ServerResponse, body: string, url: URL) => void;

const ROUTES: Record<string, Route> = {
  '/ok': (_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('hello'),
  '/echo': (req, res, body) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ method: req.method, headers: req.headers, body })),
  '/big': (_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('x'.repeat(200_000)),
  '/bytes': (_req, res) => res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(Buffer.from([0, 1, 2, 255])),
  '/redirect': (_req, res, _b, url) => res.writeHead(Number(url.searchParams.get('status') ?? 302), { location: url.searchParams.get('to') ?? '/ok' }).end(),
  '/loop': (_req, res) => res.writeHead(302, { location: '/loop' }).end(),
  '/hang': () => undefined,
};

export async function startTestServer(host: '127.0.0.1' | '::1'): Promise<TestServer> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://test');
      state.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
      const route = ROUTES[url.pathname];
      if (route) route(req, res, Buffer.concat(chunks).toString('utf8'), url);
      else res.writeHead(404).end('not found');
    });
  });
  server.on('connection', () => state.connections++);
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, host, resolve));
  const port = (server.address() as AddressInfo).port;
  const state: TestServer = {
    port,
    origin: host === '::1' ? `http://[::1]:${port}` : `http://127.0.0.1:${port}`,
    connections: 0,
    requests: [],
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return state;
}
