import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface OpsServer {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * The operations endpoints every service serves: `/healthz` (the process is alive), `/readyz` (it is
 * connected and taking work; 503 while starting or draining) and `/metrics` (Prometheus text).
 * `routes` returns the service's own routes by exact path (read per request, so they may be added after start).
 */
export async function startOpsServer(opts: {
  host: string;
  port: number;
  ready: () => boolean;
  registry: Registry;
  routes?: () => Readonly<Record<string, RouteHandler>>;
}): Promise<OpsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    void (async () => {
      try {
        if (path === '/healthz') return send(res, 200, 'ok\n');
        if (path === '/readyz') return opts.ready() ? send(res, 200, 'ready\n') : send(res, 503, 'not ready\n');
        if (path === '/metrics') {
          res.setHeader('content-type', opts.registry.contentType);
          return send(res, 200, await opts.registry.metrics());
        }
        const route = opts.routes?.()[path];
        if (route) return await route(req, res);
        send(res, 404, 'not found\n');
      } catch (err) {
        if (!res.headersSent) send(res, 500, `error: ${err instanceof Error ? err.message : String(err)}\n`);
        else res.destroy();
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function send(res: ServerResponse, status: number, body: string): void {
  res.statusCode = status;
  if (!res.hasHeader('content-type')) res.setHeader('content-type', 'text/plain; charset=utf-8');
  res.end(body);
}
