// Free TCP ports on the loopback interface.
import { createServer } from 'node:net';

/**
 * A TCP port that was free on 127.0.0.1 a moment ago: binds port 0, reads the port the kernel chose,
 * and closes. Another process may take it before the caller binds it; the server starters retry once
 * on "address already in use" when they chose the port themselves.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error(`could not read the port of a listening socket (${String(address)})`));
        return;
      }
      server.close((err) => (err ? reject(err) : resolve(address.port)));
    });
  });
}
