import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startFerretDb, startNatsServer, type FerretHandle, type NatsServerHandle } from '@pipewright/devstack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commonEnv, parseEnv } from '../src/config.js';
import { ConfigError } from '../src/errors.js';
import { openStores } from '../src/store/open.js';

/** `openStores` picks the store from the environment, as every service does at start. */
describe('openStores', () => {
  let nats: NatsServerHandle | undefined;
  let ferret: FerretHandle | undefined;
  let nc: NatsConnection;
  beforeAll(async () => {
    [nats, ferret] = await Promise.all([startNatsServer(), startFerretDb()]);
    nc = await connect({ servers: nats.url });
  });
  afterAll(async () => {
    await nc?.close();
    await Promise.all([nats?.stop(), ferret?.stop()]);
  });

  it('opens NATS KV by default, recording the durability profile', async () => {
    const stores = await openStores(parseEnv(commonEnv, { PW_DURABILITY: 'strict' }), nc);
    expect([stores.kind, stores.durability, stores.retention]).toEqual(['kv', 'strict', 'sweep']);
    await stores.close();
  });

  it('opens MongoDB with PW_STORE=mongo and MONGODB_URL', async () => {
    const stores = await openStores(parseEnv(commonEnv, { PW_STORE: 'mongo', MONGODB_URL: ferret!.url, PW_MONGODB_DB: 'open_test' }), nc);
    expect([stores.kind, stores.durability, stores.retention]).toEqual(['mongo', 'default', 'sweep']);
    await stores.close();
  });

  it('stops with a ConfigError naming MONGODB_URL when PW_STORE=mongo has none (empty counts as unset)', async () => {
    const err = await openStores(parseEnv(commonEnv, { PW_STORE: 'mongo', MONGODB_URL: '  ' }), nc).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems.join('\n')).toMatch(/^MONGODB_URL: required when PW_STORE=mongo/);
  });
});
