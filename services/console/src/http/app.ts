import { errorMessage, type Logger } from '@pipewright/kit';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import type { ConsolePorts } from '../ports.js';
import { apiError } from './errors.js';
import { runsRoutes } from './runs-routes.js';
import { sseRoutes, type SseDeps } from './sse-routes.js';

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
  /** Mounts more routes on the app (the dashboard, built by its own module, at `/`). */
  mount?: (app: Hono) => void;
}

/** The console's HTTP surface: the runs API under /api/v1 (bearer tokens), and what `mount` adds. */
export function buildApp(p: ConsolePorts, o: AppOptions): Hono {
  const app = new Hono();
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
      // The rest of the body is never read: the connection cannot carry another request, so say so.
      onError: (c) => apiError(c, 413, 'payload_too_large', `request bodies are limited to ${o.maxBodyBytes} bytes`, {}, { connection: 'close' }),
    }),
  );
  const doc = o.openapi();
  app.get(`${API_BASE}/openapi.json`, (c) => c.json(doc as object));
  app.route(API_BASE, runsRoutes(p));
  app.route(API_BASE, sseRoutes(p, o));
  o.mount?.(app);
  app.notFound((c) => apiError(c, 404, 'not_found', `no route ${c.req.method} ${c.req.path}`));
  app.onError((err, c) => {
    o.log.error({ err: errorMessage(err), path: c.req.path }, 'request failed');
    return apiError(c, 500, 'internal', 'the request failed; see the console log');
  });
  return app;
}
