import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { connectionOptions, errorMessage } from '@pipewright/kit';
import { UnavailableError, UsageError } from './cli/errors.js';
import type { CliConfig } from './config.js';

/** A CLI waits this long for NATS before it says it cannot reach it. */
const CONNECT_TIMEOUT_MS = 5_000;

export interface Bus {
  nc: NatsConnection;
  js: JetStreamClient;
  close(): Promise<void>;
}

/** Connects once, without endless reconnects: a CLI should fail fast with a clear message (exit 4). */
export async function openBus(cfg: CliConfig): Promise<Bus> {
  let opts;
  try {
    opts = { ...connectionOptions(cfg, 'pipewright-cli'), maxReconnectAttempts: 3, waitOnFirstConnect: false, timeout: CONNECT_TIMEOUT_MS };
  } catch (err) {
    // The identity file named by NATS_NKEY_SEED_FILE / NATS_CREDS could not be read.
    throw new UsageError(`cannot read the bus identity: ${errorMessage(err)}`, ['check NATS_NKEY_SEED_FILE / --nkey-seed-file or NATS_CREDS / --creds']);
  }
  let nc: NatsConnection;
  try {
    nc = await connect(opts);
  } catch (err) {
    throw new UnavailableError(`cannot reach NATS at ${cfg.NATS_URL}: ${errorMessage(err)}`, ['set NATS_URL (or --nats-url) and the identity (NATS_NKEY_SEED_FILE or NATS_CREDS); `pipewright dev` prints them']);
  }
  return { nc, js: jetstream(nc), close: () => nc.drain() };
}

/** Runs `fn` with a connection that is closed afterwards, whatever happens. */
export async function withBus<T>(cfg: CliConfig, fn: (bus: Bus) => Promise<T>): Promise<T> {
  const bus = await openBus(cfg);
  try {
    return await fn(bus);
  } finally {
    await bus.close().catch(() => undefined); // already closed (the watch saw it go): nothing left to drain
  }
}
