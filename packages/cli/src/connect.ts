import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { connectionOptions } from '@pipewright/kit';
import type { CliConfig } from './config.js';

export interface Bus {
  nc: NatsConnection;
  js: JetStreamClient;
  close(): Promise<void>;
}

/** Connects once, without endless reconnects: a CLI should fail fast with a clear message. */
export async function openBus(cfg: CliConfig): Promise<Bus> {
  const opts = { ...connectionOptions(cfg, 'pipewright-cli'), maxReconnectAttempts: 3, waitOnFirstConnect: false, timeout: 5_000 };
  let nc: NatsConnection;
  try {
    nc = await connect(opts);
  } catch (err) {
    throw new Error(`cannot reach NATS at ${cfg.NATS_URL}: ${err instanceof Error ? err.message : String(err)} (set NATS_URL)`);
  }
  return { nc, js: jetstream(nc), close: () => nc.drain() };
}
