import type { NatsConnection } from '@nats-io/transport-node';
import type { CommonConfig } from '../config.js';
import { ConfigError } from '../errors.js';
import { openKvStores } from './kv.js';
import { openMongoStores } from './mongo/open.js';
import type { Stores } from './types.js';

export type StoreConfig = Pick<CommonConfig, 'PW_STORE' | 'MONGODB_URL' | 'PW_MONGODB_DB' | 'PW_REPLICAS'> &
  Partial<Pick<CommonConfig, 'PW_DURABILITY' | 'PW_RETENTION_MS' | 'PW_TOPOLOGY'>>;

/** Opens the store the configuration names (`PW_STORE`). */
export async function openStores(cfg: StoreConfig, nc: NatsConnection): Promise<Stores> {
  const durability = cfg.PW_DURABILITY ?? 'default';
  if (cfg.PW_STORE === 'kv') return openKvStores(nc, { replicas: cfg.PW_REPLICAS, durability, createRuns: cfg.PW_TOPOLOGY !== 'verify' });
  if (!cfg.MONGODB_URL) throw new ConfigError(['MONGODB_URL: required when PW_STORE=mongo (e.g. mongodb://host:27017/?replicaSet=rs0)']);
  return openMongoStores(cfg.MONGODB_URL, cfg.PW_MONGODB_DB, { durability, ...(cfg.PW_RETENTION_MS !== undefined ? { retentionMs: cfg.PW_RETENTION_MS } : {}) });
}
