import type { NatsConnection } from '@nats-io/transport-node';
import { ConfigError, type CommonConfig } from '@pipewright/kit';
import { openKvLedgerStore } from './kv.js';
import { openMongoLedgerStore } from './mongo.js';
import type { LedgerStore } from './types.js';

/** Opens the ledger store the configuration names (`PW_STORE`): NATS KV (embedded default) or MongoDB. */
export async function openBudgetStore(cfg: Pick<CommonConfig, 'PW_STORE' | 'MONGODB_URL' | 'PW_MONGODB_DB' | 'PW_REPLICAS'>, nc: NatsConnection): Promise<LedgerStore> {
  if (cfg.PW_STORE === 'kv') return openKvLedgerStore(nc, { replicas: cfg.PW_REPLICAS });
  if (cfg.MONGODB_URL === undefined) throw new ConfigError(['MONGODB_URL: required when PW_STORE is "mongo"']);
  return openMongoLedgerStore(cfg.MONGODB_URL, cfg.PW_MONGODB_DB);
}
