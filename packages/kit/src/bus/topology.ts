import { AckPolicy, DeliverPolicy, JetStreamApiCodes, JetStreamApiError, RetentionPolicy, StorageType, type ConsumerConfig, type JetStreamManager } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { streams, type StreamDef } from '@pipewright/contracts';
import { RetryableError } from '../errors.js';

/** JetStream's error when a stream name is taken (a replica created it between our info and add). */
const STREAM_NAME_IN_USE = 10058;

export interface StreamOptions {
  /** Replicas of the stream (1 for a single server, 3 for a cluster). @default 1 */
  replicas?: number;
  /** Overrides the definition's duplicate window (`PW_DEDUPE_WINDOW_MS`). */
  duplicateWindowMs?: number;
}

/**
 * Creates a stream, or updates it to match the definition when it exists. Safe to run from every
 * replica at every start-up.
 */
export async function ensureStream(jsm: JetStreamManager, def: StreamDef, opts: StreamOptions = {}): Promise<void> {
  const config = {
    name: def.name,
    subjects: [...def.subjects],
    retention: def.retention === 'workqueue' ? RetentionPolicy.Workqueue : RetentionPolicy.Limits,
    storage: StorageType.File,
    max_age: nanos(def.maxAgeMs),
    duplicate_window: nanos(opts.duplicateWindowMs ?? def.duplicateWindowMs),
    num_replicas: opts.replicas ?? 1,
    ...(def.allowDirect ? { allow_direct: true } : {}),
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
      if (!(addErr instanceof JetStreamApiError && addErr.code === STREAM_NAME_IN_USE)) throw addErr;
    }
  }
}

/** Creates or updates every PW_* stream: the topology owner's start-up step (and a stack's set-up). */
export async function ensureTopology(jsm: JetStreamManager, opts: StreamOptions = {}): Promise<void> {
  for (const def of Object.values(streams)) await ensureStream(jsm, def, opts);
}

/**
 * For a service that may not manage streams (`PW_TOPOLOGY=verify`, the bus permissions of every role
 * but the planner): waits for the stream to exist — a RetryableError, retried at start-up — and checks
 * that it captures the subjects of the definition, without changing it.
 */
export async function verifyStream(jsm: JetStreamManager, def: StreamDef): Promise<void> {
  let subjects: readonly string[];
  try {
    subjects = (await jsm.streams.info(def.name)).config.subjects ?? [];
  } catch (err) {
    if (isNotFound(err)) throw new RetryableError(`stream ${def.name} does not exist yet: the planner (PW_TOPOLOGY=manage) creates it`, undefined, { cause: err });
    throw err;
  }
  const missing = def.subjects.filter((s) => !subjects.includes(s));
  if (missing.length > 0) throw new RetryableError(`stream ${def.name} does not capture ${missing.join(', ')} yet: waiting for the planner to update it`);
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
  /**
   * Where the consumer starts when it is created: `all` at the stream's first message, `new` with the
   * messages published after its creation. An existing consumer keeps its position; pass the same
   * value every time, since the server refuses an update that changes it. @default 'all'
   */
  deliverPolicy?: 'all' | 'new';
}

/** Creates or updates a durable pull consumer shared by every replica of a service. */
export async function ensurePullConsumer(jsm: JetStreamManager, def: PullConsumerDef): Promise<void> {
  const config: Partial<ConsumerConfig> = {
    durable_name: def.durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: def.deliverPolicy === 'new' ? DeliverPolicy.New : DeliverPolicy.All,
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
  return err instanceof JetStreamApiError && (err.code === JetStreamApiCodes.StreamNotFound || err.code === JetStreamApiCodes.ConsumerNotFound);
}
