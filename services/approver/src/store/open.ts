import type { NatsConnection } from '@nats-io/transport-node';
import { ConfigError, type CommonConfig } from '@pipewright/kit';
import { openKvApproverStores } from './kv.js';
import { openMongoApproverStores } from './mongo.js';
import type { ApproverStores } from './types.js';

/** Opens the store the configuration names (`PW_STORE`): NATS KV (embedded default) or MongoDB. */
export async function openApproverStores(cfg: Pick<CommonConfig, 'PW_STORE' | 'MONGODB_URL' | 'PW_MONGODB_DB' | 'PW_REPLICAS'>, nc: NatsConnection): Promise<ApproverStores> {
  if (cfg.PW_STORE === 'kv') return openKvApproverStores(nc, { replicas: cfg.PW_REPLICAS });
  if (cfg.MONGODB_URL === undefined) throw new ConfigError(['MONGODB_URL: required when PW_STORE is "mongo"']);
  return openMongoApproverStores(cfg.MONGODB_URL, cfg.PW_MONGODB_DB);
}
