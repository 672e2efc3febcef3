import { readFileSync } from 'node:fs';
import { connect, credsAuthenticator, nkeyAuthenticator, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node';
import { fromSeed } from '@nats-io/nkeys';
import type { Logger } from 'pino';
import { inboxPrefixFor } from './auth/roles.js';
import type { CommonConfig } from '../config.js';

type ConnectConfig = Pick<
  CommonConfig,
  'NATS_URL' | 'NATS_USER' | 'NATS_PASSWORD' | 'NATS_TOKEN' | 'NATS_CREDS' | 'NATS_NKEY_SEED_FILE' | 'NATS_TLS_CA' | 'NATS_TLS_CERT' | 'NATS_TLS_KEY'
>;

/** Connection options from configuration: user/password, token, nkey seed file, creds file, TLS. */
export function connectionOptions(cfg: ConnectConfig, name: string): NodeConnectionOptions {
  const opts: NodeConnectionOptions = {
    servers: cfg.NATS_URL.split(',').map((s) => s.trim()),
    name,
    // Keep trying for ever: a service without its broker is useless, and k8s restarts are slower.
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    waitOnFirstConnect: true,
    // Otherwise nats.js captures a stack (an Error) on every request and JetStream publish, to say where
    // a timeout started: CPU on the hot path for a trace our own errors give (they name the subject).
    noAsyncTraces: true,
  };
  if (cfg.NATS_USER !== undefined) opts.user = cfg.NATS_USER;
  if (cfg.NATS_PASSWORD !== undefined) opts.pass = cfg.NATS_PASSWORD;
  if (cfg.NATS_TOKEN !== undefined) opts.token = cfg.NATS_TOKEN;
  if (cfg.NATS_CREDS !== undefined) opts.authenticator = credsAuthenticator(readFileSync(cfg.NATS_CREDS));
  else if (cfg.NATS_NKEY_SEED_FILE !== undefined) {
    const seed = readFileSync(cfg.NATS_NKEY_SEED_FILE, 'utf8').trim();
    opts.authenticator = nkeyAuthenticator(new TextEncoder().encode(seed));
    // Replies come to this identity's own inboxes: the permissions `pipewright nats-auth` writes allow no other.
    opts.inboxPrefix = inboxPrefixFor(fromSeed(new TextEncoder().encode(seed)).getPublicKey());
  }
  if (cfg.NATS_TLS_CA !== undefined || cfg.NATS_TLS_CERT !== undefined) {
    opts.tls = {};
    if (cfg.NATS_TLS_CA !== undefined) opts.tls.caFile = cfg.NATS_TLS_CA;
    if (cfg.NATS_TLS_CERT !== undefined) opts.tls.certFile = cfg.NATS_TLS_CERT;
    if (cfg.NATS_TLS_KEY !== undefined) opts.tls.keyFile = cfg.NATS_TLS_KEY;
  }
  return opts;
}

/**
 * Connects and logs connection status changes (disconnect, reconnect, errors) for operators;
 * `onConnected` follows the connection (false while disconnected), for readiness.
 */
export async function connectNats(cfg: ConnectConfig, name: string, log: Logger, onConnected?: (up: boolean) => void): Promise<NatsConnection> {
  const nc = await connect(connectionOptions(cfg, name));
  log.info({ server: nc.getServer() }, 'connected to NATS');
  onConnected?.(true);
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') onConnected?.(false);
      if (s.type === 'reconnect') onConnected?.(true);
      if (s.type === 'disconnect' || s.type === 'reconnect' || s.type === 'error')
        log.warn({ status: s.type, detail: 'server' in s ? s.server : undefined }, 'NATS connection status');
    }
  })();
  return nc;
}
