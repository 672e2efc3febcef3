import { errorMessage, type Logger, type Registry } from '@pipewright/kit';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import type { ConsolePorts } from '../ports.js';
import { apiError } from './errors.js';
import { httpMetrics } from './metrics.js';
import { runsRoutes } from './runs-routes.js';
import { sseRoutes, type SseDeps } from './sse-routes.js';
import { toolsRoutes } from './tools-routes.js';
import { traceRequests } from './tracing.js';

/** A too-large body is read to its end (and dropped) up to this many times the limit. */
const DRAIN_FACTOR = 8;

/** Reads a body to its end, dropping it; false (and cancelled) once it passes `capBytes`. */
async function drain(body: ReadableStream<Uint8Array> | null, capBytes: number): Promise<boolean> {
  if (!body || body.locked) return false;
  const reader = body.getReader();
  let n = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return true;
      n += value.byteLength;
      if (n > capBytes) {
        await reader.cancel();
        return false;
      }
    }
  } catch {
    return false;
  }
}

/** The API's base path. */
export const API_BASE = '/api/v1';
/** The API answers JSON only: nothing it serves may run as a page or be framed. */
const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";

export interface AppOptions extends SseDeps {
  log: Logger;
  maxBodyBytes: number;
  /** The OpenAPI document (served unauthenticated). */
  openapi: () => unknown;
  /** Origins allowed to call the API from a browser; none (CORS off) by default. */
  corsOrigins?: readonly string[];
  /** Where the HTTP metrics are registered (the service's /metrics); none in unit tests. */
  registry?: Registry;
  /** Mounts more routes on the app (the dashboard, built by its own module, at `/`). */
  mount?: (app: Hono) => void;
}

/** The console's HTTP surface: the runs API under /api/v1 (bearer tokens), and what `mount` adds. */
export function buildApp(p: ConsolePorts, o: AppOptions): Hono {
  const app = new Hono();
  app.use('*', traceRequests());
  if (o.registry) app.use('*', httpMetrics(o.registry));
  app.use(`${API_BASE}/*`, async (c, next) => {
    await next();
    c.header('x-content-type-options', 'nosniff');
    c.header('content-security-policy', API_CSP);
    c.header('cache-control', 'no-store');
  });
  if (o.corsOrigins && o.corsOrigins.length > 0)
    app.use(`${API_BASE}/*`, cors({ origin: [...o.corsOrigins], allowHeaders: ['authorization', 'content-type', 'idempotency-key', 'last-event-id'], allowMethods: ['GET', 'POST'], maxAge: 600 }));
  app.use(
    `${API_BASE}/*`,
    bodyLimit({
      maxSize: o.maxBodyBytes,
      onError: async (c) => {
        // Read (and drop) the rest of a body a little over the limit, so the client, still sending it,
        // gets its answer on a connection that stays usable; a far larger one is cut off with the connection.
        const drained = await drain(c.req.raw.body, DRAIN_FACTOR * o.maxBodyBytes);
        return apiError(c, 413, 'payload_too_large', `request bodies are limited to ${o.maxBodyBytes} bytes`, {}, drained ? undefined : { connection: 'close' });
      },
    }),
  );
  const doc = o.openapi();
  app.get(`${API_BASE}/openapi.json`, (c) => c.json(doc as object));
  app.route(API_BASE, runsRoutes(p));
  app.route(API_BASE, sseRoutes(p, o));
  if (p.tools) app.route(API_BASE, toolsRoutes(p, p.tools));
  o.mount?.(app);
  app.notFound((c) => apiError(c, 404, 'not_found', `no route ${c.req.method} ${c.req.path}`));
  app.onError((err, c) => {
    o.log.error({ err: errorMessage(err), path: c.req.path }, 'request failed');
    return apiError(c, 500, 'internal', 'the request failed; see the console log');
  });
  return app;
}
