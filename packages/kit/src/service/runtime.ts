import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Tracer } from '@opentelemetry/api';
import { streams } from '@pipewright/contracts';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { connectNats } from '../bus/connect.js';
import { ensureTopology, verifyStream } from '../bus/topology.js';
import type { CommonConfig } from '../config.js';
import { announcer, createLogger, type Logger } from '../logger.js';
import { openStores } from '../store/open.js';
import type { Stores } from '../store/types.js';
import { startLogExport, type LogExport } from '../telemetry/log-export.js';
import { startTracing } from '../telemetry/tracing.js';
import { startOpsServer, type RouteHandler } from './http.js';
import { registerConsumerLag } from '../bus/consumer-lag.js';
import { registerDlqCounter } from '../bus/dlq-metrics.js';
import { registerLoopDelayGauges } from './loop-delay.js';
import { Shutdown } from './shutdown.js';
import { metricsMark } from './metrics-mark.js';
import { retryStartup, StartupError } from './startup-retry.js';

/** Exit code when start-up meets an error that retrying cannot mend (a refused stream config, a bug). */
export const EXIT_STARTUP_FAILED = 1;
/** While the first connection to NATS is pending (nats.js keeps trying), say so this often. */
const NATS_WAIT_LOG_MS = 5_000;

export interface ServiceRuntime {
  readonly name: string;
  readonly config: CommonConfig;
  readonly log: Logger;
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly tracer: Tracer;
  readonly registry: Registry;
  readonly shutdown: Shutdown;
  /**
   * Reports a durable consumer's lag (`pw_consumer_pending_messages`, `pw_consumer_ack_pending`) on
   * /metrics: call it for each consumer the service pulls from.
   */
  watchConsumer(stream: string, durable: string): void;
  /** Opens the configured store once; later calls return the same stores. */
  stores(): Promise<Stores>;
}

export interface ServiceParts {
  /** Extra readiness condition on top of "started and not draining". */
  ready?: () => boolean;
  routes?: Readonly<Record<string, RouteHandler>>;
}

/**
 * Starts a service the same way everywhere: logger, tracing, NATS, the streams, the ops server, signal
 * handling. `setup` wires the service's own consumers and registers their shutdown steps.
 *
 * A transient fault during start-up (NATS or JetStream not reachable or not ready yet, a request timing
 * out, an unreachable store) never ends the process: the step is retried with backoff, each retry is
 * logged, and /readyz answers 503 until start-up completes. A failed `setup` attempt is undone (the
 * shutdown steps it registered run) before it is tried again, so `setup` must register a shutdown
 * step for everything it starts, as soon as it starts it. Any other error is logged with the step it
 * stopped at and exits with EXIT_STARTUP_FAILED.
 */
export async function runService(name: string, config: CommonConfig, setup: (rt: ServiceRuntime) => Promise<ServiceParts>): Promise<ServiceRuntime> {
  const logExport = startLogExportOf(name, config);
  const log = createLogger(name, config.PW_LOG_LEVEL, logExport?.stream);
  try {
    return await start(name, config, setup, log, logExport);
  } catch (err) {
    if (!(err instanceof StartupError)) throw err;
    log.fatal({ err: err.cause, step: err.step }, err.message);
    process.exit(EXIT_STARTUP_FAILED);
  }
}

/** The OpenTelemetry log export when OTEL_LOGS_EXPORTER=otlp and an OTLP endpoint is set. */
function startLogExportOf(name: string, config: CommonConfig): LogExport | undefined {
  if (config.OTEL_LOGS_EXPORTER !== 'otlp') return undefined;
  const url = config.OTEL_EXPORTER_OTLP_LOGS_ENDPOINT ?? (config.OTEL_EXPORTER_OTLP_ENDPOINT ? `${config.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/$/, '')}/v1/logs` : undefined);
  return url ? startLogExport(config.OTEL_SERVICE_NAME ?? `pipewright-${name}`, url) : undefined;
}

async function start(name: string, config: CommonConfig, setup: (rt: ServiceRuntime) => Promise<ServiceParts>, log: Logger, logExport?: LogExport): Promise<ServiceRuntime> {
  const tracing = startTracing({
    serviceName: config.OTEL_SERVICE_NAME ?? `pipewright-${name}`,
    ...(config.OTEL_EXPORTER_OTLP_ENDPOINT ? { endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT } : {}),
    ...(config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ? { tracesUrl: config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT } : {}),
  });
  const shutdown = new Shutdown(log, config.PW_SHUTDOWN_GRACE_MS);
  // Steps run last-added first: the log export, added first, sends the lines of every other step.
  if (logExport) shutdown.add('log export', () => logExport.shutdown());
  shutdown.add('tracing', () => tracing.shutdown());
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));

  const registry = new Registry();
  registry.setDefaultLabels({ service: name });
  collectDefaultMetrics({ register: registry });
  registerLoopDelayGauges(registry);
  registerDlqCounter(registry);
  // Consumer lag is read through the JetStream API once it is up; scrapes before then report none.
  const api: { jsm?: JetStreamManager } = {};
  const lag = registerConsumerLag(registry, () => api.jsm, log);

  // The ops server starts first and stops last: /healthz answers while the service connects, and
  // /readyz says 503 while it starts, while NATS is disconnected, and while it drains.
  let started = false;
  let connected = false;
  let extraReady: (() => boolean) | undefined = undefined;
  let routes: Readonly<Record<string, RouteHandler>> = {};
  if (config.PW_HTTP_PORT !== undefined) {
    const ops = await startOpsServer({
      host: config.PW_HTTP_HOST,
      port: config.PW_HTTP_PORT,
      registry,
      ready: () => started && connected && shutdown.state === 'running' && (extraReady?.() ?? true),
      routes: () => routes,
    });
    shutdown.add('http', () => ops.close());
    // With PW_HTTP_PORT=0 this line is the only place the bound port shows, so it prints at any level.
    announcer(log).info({ port: ops.port }, 'ops server listening');
  }

  // nats.js retries the first connection itself (waitOnFirstConnect); this makes the wait visible.
  const waiting = setInterval(() => log.warn('start-up: NATS not reachable yet; still trying'), NATS_WAIT_LOG_MS);
  const nc = await retryStartup('connect to NATS', () => connectNats(config, `pipewright-${name}`, log, (up) => (connected = up)), { log }).finally(() =>
    clearInterval(waiting),
  );
  shutdown.add('nats', async () => {
    await nc.drain();
  });
  const jsm = await retryStartup('JetStream API', () => jetstreamManager(nc), { log });
  const js = jetstream(nc);
  api.jsm = jsm;
  await retryStartup(
    'streams',
    async () => {
      if (config.PW_TOPOLOGY === 'manage') await ensureTopology(jsm, { replicas: config.PW_REPLICAS, duplicateWindowMs: config.PW_DEDUPE_WINDOW_MS });
      else for (const def of Object.values(streams)) await verifyStream(jsm, def);
    },
    { log },
  );

  let storesP: Promise<Stores> | undefined;
  const rt: ServiceRuntime = {
    name,
    config,
    log,
    nc,
    js,
    jsm,
    tracer: tracing.tracer,
    registry,
    shutdown,
    watchConsumer: (stream, durable) => lag.watch(stream, durable),
    stores: () => {
      if (!storesP) {
        const opening = openStores(config, nc);
        storesP = opening;
        // Registered once open, so that undoing a failed setup closes them and the next attempt reopens.
        void opening.then(
          (s) =>
            shutdown.add('stores', async () => {
              storesP = undefined;
              await s.close();
            }),
          () => {
            if (storesP === opening) storesP = undefined;
          },
        );
      }
      return storesP;
    },
  };

  const mark = shutdown.mark();
  // Metrics a failed attempt registered are removed with the rest of it: the next attempt registers them anew.
  const forgetMetrics = metricsMark(registry);
  const undoAttempt = async () => {
    await shutdown.unwind(mark);
    forgetMetrics();
  };
  const parts = await retryStartup('setup', () => setup(rt), { log, cleanup: undoAttempt });
  extraReady = parts.ready;
  routes = parts.routes ?? {};
  started = true;
  shutdown.installSignalHandlers();
  log.info('ready');
  return rt;
}
