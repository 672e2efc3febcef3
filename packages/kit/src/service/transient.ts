import { JetStreamApiError } from '@nats-io/jetstream';
import { ClosedConnectionError, ConnectionError, NoRespondersError, RequestError, TimeoutError } from '@nats-io/transport-node';
import { MongoNetworkError, MongoServerSelectionError } from 'mongodb';
import { ConfigError, RetryableError, TerminalError } from '../errors.js';

/**
 * JetStream API error codes of a server that cannot serve *yet*: a cluster without a meta leader or
 * quorum, assets still being recovered, too few peers up to place the replicas asked for. Every other
 * API error (a config the server refuses, replicas > 1 on a single server, a name in use with another
 * config, an account without JetStream) fails the same way on every attempt.
 */
export const TRANSIENT_JS_API_CODES: ReadonlySet<number> = new Set([
  10004, // JSClusterIncompleteErr: incomplete results
  10005, // JSClusterNoPeersErrF: no suitable peers for placement (replicas not all up yet)
  10008, // JSClusterNotAvailErr: JetStream system temporarily unavailable
  10009, // JSClusterNotLeaderErr: JetStream cluster can not handle request
  10076, // JSNotEnabledErr: JetStream not enabled (yet) on the server
  10118, // JSStreamOfflineErr
  10119, // JSConsumerOfflineErr
  10194, // JSStreamOfflineReasonErrF
  10195, // JSConsumerOfflineReasonErrF
]);

/** How far down a chain of `cause`s to look for an error we know. */
const MAX_CAUSE_DEPTH = 8;

/**
 * Whether a failed start-up step may succeed when tried again: the broker or the store is not
 * reachable or not ready (request timeouts, no responders — JetStream not running yet —, a closed or
 * reconnecting connection, a JetStream API code of TRANSIENT_JS_API_CODES, an unreachable MongoDB),
 * or our own RetryableError. Decided by type and API code, never by message text; a wrapper we do
 * not know is judged by its `cause`. Anything unknown is not transient: it stops start-up.
 */
export function isTransient(err: unknown): boolean {
  let e: unknown = err;
  for (let depth = 0; depth < MAX_CAUSE_DEPTH && e instanceof Error; depth++) {
    const verdict = verdictOf(e);
    if (verdict !== undefined) return verdict;
    e = e.cause;
  }
  return false;
}

function verdictOf(e: Error): boolean | undefined {
  if (e instanceof TerminalError || e instanceof ConfigError) return false;
  if (e instanceof RetryableError) return true;
  if (e instanceof JetStreamApiError) return TRANSIENT_JS_API_CODES.has(e.code);
  // @nats-io/jetstream reports "no responders" as JetStreamNotEnabled (not on its main entry), caused by this
  if (e instanceof RequestError) return e.isNoResponders() ? true : undefined;
  if (e instanceof TimeoutError || e instanceof NoRespondersError || e instanceof ClosedConnectionError || e instanceof ConnectionError) return true;
  if (e instanceof MongoNetworkError || e instanceof MongoServerSelectionError) return true;
  return undefined;
}
