import type { ConsumerInfo, JetStreamManager } from '@nats-io/jetstream';
import { Gauge, type Registry } from 'prom-client';
import type { Logger } from '../logger.js';

/**
 * A scrape reads consumer info at most this often: several scrapers (or a scraper with a short interval)
 * cost the server one `CONSUMER.INFO` request per consumer per this period, not one per scrape.
 */
export const CONSUMER_LAG_MIN_INTERVAL_MS = 5_000;
/** A consumer info request that takes longer is given up on for this scrape (its series are left out). */
const INFO_TIMEOUT_MS = 2_000;

/** Names of the gauges, read from consumer info (the server's own counts). */
export const CONSUMER_LAG_METRICS = {
  pending: 'pw_consumer_pending_messages',
  ackPending: 'pw_consumer_ack_pending',
  redelivered: 'pw_consumer_redelivered_messages',
} as const;

export interface ConsumerLag {
  /** Reports this durable consumer's lag on /metrics from now on (idempotent). */
  watch(stream: string, durable: string): void;
}

type Sample = { stream: string; consumer: string; info: ConsumerInfo | undefined };

/**
 * Consumer lag on /metrics, sampled when Prometheus scrapes (never on a timer of its own, so an idle
 * service asks the server nothing): per watched (stream, consumer), messages not yet delivered
 * (`num_pending`), delivered and not yet acknowledged (`num_ack_pending`), and delivered more than once
 * and not yet acknowledged (`num_redelivered`). A consumer whose info cannot be read has no series in
 * that scrape (stale figures would hide an outage); the failure is logged at debug.
 */
export function registerConsumerLag(registry: Registry, jsm: () => JetStreamManager | undefined, log: Logger): ConsumerLag {
  const watched = new Map<string, { stream: string; consumer: string }>();
  let last: { at: number; samples: Promise<Sample[]> } | undefined;
  const sample = (): Promise<Sample[]> => {
    const now = Date.now();
    if (last && now - last.at < CONSUMER_LAG_MIN_INTERVAL_MS) return last.samples;
    const m = jsm();
    const samples = Promise.all(
      [...watched.values()].map(async (w): Promise<Sample> => {
        if (!m) return { ...w, info: undefined };
        try {
          const info = await withTimeout(m.consumers.info(w.stream, w.consumer), INFO_TIMEOUT_MS);
          return { ...w, info };
        } catch (err) {
          log.debug({ err, stream: w.stream, consumer: w.consumer }, 'consumer lag: consumer info not read');
          return { ...w, info: undefined };
        }
      }),
    );
    last = { at: now, samples };
    return samples;
  };
  const gauge = (name: string, help: string, read: (i: ConsumerInfo) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['stream', 'consumer'],
      registers: [registry],
      async collect() {
        const samples = await sample();
        this.reset();
        for (const s of samples) if (s.info) this.set({ stream: s.stream, consumer: s.consumer }, read(s.info));
      },
    });
  gauge(CONSUMER_LAG_METRICS.pending, 'Messages of the stream the consumer has not delivered yet (its backlog), from consumer info', (i) => i.num_pending);
  gauge(CONSUMER_LAG_METRICS.ackPending, 'Messages delivered and not yet acknowledged (in flight or held back with a delayed nak), from consumer info', (i) => i.num_ack_pending);
  gauge(CONSUMER_LAG_METRICS.redelivered, 'Messages delivered more than once and not yet acknowledged, from consumer info', (i) => i.num_redelivered);
  return {
    watch(stream, consumer) {
      watched.set(`${stream}\u0000${consumer}`, { stream, consumer });
      last = undefined;
    },
  };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
