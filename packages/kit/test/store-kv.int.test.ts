import { connect } from '@nats-io/transport-node';
import { startNatsServer, type NatsServerHandle } from '@pipewright/devstack';
import { afterAll, beforeAll } from 'vitest';
import { openKvStores } from '../src/store/kv.js';
import type { Stores } from '../src/store/types.js';
import { describeStoreConformance } from './store-conformance.js';

// The embedded store on a real nats-server (free port, temporary store).
let server: NatsServerHandle | undefined;
beforeAll(async () => {
  server = await startNatsServer();
});
afterAll(async () => {
  await server?.stop();
});

/** Each handle has its own connection, like a separate replica. */
async function open(): Promise<Stores> {
  if (!server) throw new Error('nats-server did not start');
  const nc = await connect({ servers: server.url });
  const stores = await openKvStores(nc);
  return {
    ...stores,
    close: async () => {
      await stores.close();
      await nc.close();
    },
  };
}

describeStoreConformance('NATS KV', open);
