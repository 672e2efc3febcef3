import type { NatsConnection } from '@nats-io/transport-node';
import type { CommonConfig } from '../config.js';
import { ConfigError } from '../errors.js';
import { openKvStores } from './kv.js';
import type { Stores } from './types.js';

/** Opens the store the configuration names (`PW_STORE`). */
export async function openStores(cfg: Pick<CommonConfig, 'PW_STORE' | 'MONGODB_URL' | 'PW_MONGODB_DB' | 'PW_REPLICAS'>, nc: NatsConnection): Promise<Stores> {
  if (cfg.PW_STORE === 'kv') return openKvStores(nc, { replicas: cfg.PW_REPLICAS });
  throw new ConfigError([`PW_STORE: "${cfg.PW_STORE}" is not available in this build`]);
}
