import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HttpServer {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Serves a request listener (a web framework's, e.g. `getRequestListener(app.fetch)` of
 * @hono/node-server) on host:port; resolves once listening, rejects if the port is taken. Closing ends
 * every connection, long-lived ones (event streams) included.
 */
export async function startHttpServer(listener: RequestListener, host: string, port: number): Promise<HttpServer> {
  const server = createServer(listener);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // Event streams never go idle: they end here, or close() would wait for their clients.
        server.closeAllConnections();
      }),
  };
}
