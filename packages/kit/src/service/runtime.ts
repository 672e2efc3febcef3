import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Tracer } from '@opentelemetry/api';
import { streams } from '@pipewright/contracts';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { connectNats } from '../bus/connect.js';
import { ensureStream } from '../bus/topology.js';
import type { CommonConfig } from '../config.js';
import { createLogger, type Logger } from '../logger.js';
import { openStores } from '../store/open.js';
import type { Stores } from '../store/types.js';
import { startTracing } from '../telemetry/tracing.js';
import { startOpsServer, type RouteHandler } from './http.js';
import { Shutdown } from './shutdown.js';

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
 */
export async function runService(name: string, config: CommonConfig, setup: (rt: ServiceRuntime) => Promise<ServiceParts>): Promise<ServiceRuntime> {
  const log = createLogger(name, config.PW_LOG_LEVEL);
  const tracing = startTracing({
    serviceName: config.OTEL_SERVICE_NAME ?? `pipewright-${name}`,
    ...(config.OTEL_EXPORTER_OTLP_ENDPOINT ? { endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT } : {}),
    ...(config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ? { tracesUrl: config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT } : {}),
  });
  const shutdown = new Shutdown(log, config.PW_SHUTDOWN_GRACE_MS);
  shutdown.add('tracing', () => tracing.shutdown());
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));

  const registry = new Registry();
  registry.setDefaultLabels({ service: name });
  collectDefaultMetrics({ register: registry });

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
    log.info({ port: ops.port }, 'ops server listening');
  }

  const nc = await connectNats(config, `pipewright-${name}`, log, (up) => (connected = up));
  shutdown.add('nats', async () => {
    await nc.drain();
  });
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  for (const def of Object.values(streams)) await ensureStream(jsm, def, config.PW_REPLICAS);

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
    stores: () => {
      if (!storesP) {
        storesP = openStores(config, nc);
        shutdown.add('stores', async () => (await storesP)?.close());
      }
      return storesP;
    },
  };

  const parts = await setup(rt);
  extraReady = parts.ready;
  routes = parts.routes ?? {};
  started = true;
  shutdown.installSignalHandlers();
  log.info('ready');
  return rt;
}
