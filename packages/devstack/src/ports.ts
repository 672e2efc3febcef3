// Free TCP ports on the loopback interface, for the one server that cannot bind port 0 itself.
//
// Picking a free port and then starting a server on it is a race: the port is free when picked, but
// any process on the machine (another test file's server) may bind it before the server does (issue
// 10). A server that binds port 0 and reports the port it got has no such race, so nats-server,
// FerretDB, llm-sim and the Pipewright services all do that (see reported-ports.ts). Jaeger cannot: its
// listeners come from a config file and it does not report the ports it bound, so it alone still
// starts on picked ports, retried on fresh ones when one was taken (`retryWhilePortsTaken`).
import { createServer } from 'node:net';
import { PortsTakenError, ProcessExitedError } from './errors.js';

/**
 * A TCP port that was free on 127.0.0.1 a moment ago: binds port 0, reads the port the kernel chose,
 * and closes. Another process may take it before the caller binds it: prefer starting the server on
 * port 0 and reading the port it reports; otherwise use `retryWhilePortsTaken`.
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

/** Whether a server exited before it was ready because a port it was given was taken. */
export function isAddressInUse(err: unknown): err is ProcessExitedError {
  return err instanceof ProcessExitedError && /address already in use|EADDRINUSE/i.test(err.output);
}

/**
 * Runs `start` (which starts a server on freshly picked ports) again while it fails with "address
 * already in use", `attempts` times at most; then throws a PortsTakenError. Any other failure is
 * thrown at once.
 */
export async function retryWhilePortsTaken<T>(processName: string, attempts: number, start: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (err) {
      if (!isAddressInUse(err)) throw err;
      if (attempt >= attempts) throw new PortsTakenError(processName, attempts, err);
    }
  }
}
