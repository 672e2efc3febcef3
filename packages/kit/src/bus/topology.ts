import { AckPolicy, DeliverPolicy, RetentionPolicy, StorageType, type JetStreamManager, type ConsumerConfig } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { StreamDef } from '@pipewright/contracts';

/**
 * Creates a stream, or updates it to match the definition when it exists. Safe to run from every
 * replica at every start-up.
 */
export async function ensureStream(jsm: JetStreamManager, def: StreamDef, replicas = 1): Promise<void> {
  const config = {
    name: def.name,
    subjects: [...def.subjects],
    retention: def.retention === 'workqueue' ? RetentionPolicy.Workqueue : RetentionPolicy.Limits,
    storage: StorageType.File,
    max_age: nanos(def.maxAgeMs),
    duplicate_window: nanos(def.duplicateWindowMs),
    num_replicas: replicas,
  };
  try {
    await jsm.streams.info(def.name);
    await jsm.streams.update(def.name, config);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    try {
      await jsm.streams.add(config);
    } catch (addErr) {
      // Another replica created it between our info and add.
      if (!String(addErr).includes('already in use')) throw addErr;
    }
  }
}

export interface PullConsumerDef {
  stream: string;
  durable: string;
  /** One subject, or several (needs nats-server 2.10+). */
  filterSubjects?: readonly string[];
  /** How long a delivered message may go unacknowledged before it is redelivered. */
  ackWaitMs: number;
  /** Deliveries before the message is given up on (then copied to the DLQ by the consumer loop). */
  maxDeliver: number;
  /** Redelivery delays after a missed ack, in ms (length must be < maxDeliver). */
  backoffMs?: readonly number[];
  maxAckPending?: number;
}

/** Creates or updates a durable pull consumer shared by every replica of a service. */
export async function ensurePullConsumer(jsm: JetStreamManager, def: PullConsumerDef): Promise<void> {
  const config: Partial<ConsumerConfig> = {
    durable_name: def.durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(def.ackWaitMs),
    max_deliver: def.maxDeliver,
    max_ack_pending: def.maxAckPending ?? 1000,
  };
  const filters = def.filterSubjects ?? [];
  if (filters.length === 1) config.filter_subject = filters[0];
  else if (filters.length > 1) config.filter_subjects = [...filters];
  if (def.backoffMs && def.backoffMs.length > 0) config.backoff = def.backoffMs.map((ms) => nanos(ms));
  try {
    await jsm.consumers.info(def.stream, def.durable);
    await jsm.consumers.update(def.stream, def.durable, config);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await jsm.consumers.add(def.stream, config);
  }
}

function isNotFound(err: unknown): boolean {
  const s = String(err);
  return s.includes('not found') || s.includes('10059') || s.includes('10014');
}
