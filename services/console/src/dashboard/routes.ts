import { Hono } from 'hono';
import type { ConsolePorts } from '../ports.js';
import { actionRoutes } from './action-routes.js';
import { DASHBOARD_JS } from './assets/client.js';
import { DASHBOARD_CSS } from './assets/style.js';
import { authRoutes } from './auth-routes.js';
import { Dashboard, type DashboardOptions, type DashEnv } from './context.js';
import { liveRoutes } from './live-routes.js';
import { pageRoutes } from './page-routes.js';

const ASSET_CACHE = 'private, max-age=300';

/**
 * The runs dashboard, to mount at `/` beside the API (`app.route('/', dashboardRoutes(ports, opts))`):
 * server-rendered pages under a signed session, live through Server-Sent Events, operations through
 * confirmed, CSRF-protected forms. Every route sets its own headers and checks its own session, so
 * mounting it adds nothing to the API's routes.
 */
export function dashboardRoutes(ports: ConsolePorts, opts: DashboardOptions): Hono<DashEnv> {
  const d = new Dashboard(ports, opts);
  const app = new Hono<DashEnv>();
  app.get('/assets/dashboard.css', (c) => c.body(DASHBOARD_CSS, 200, { 'content-type': 'text/css; charset=utf-8', 'cache-control': ASSET_CACHE, 'x-content-type-options': 'nosniff' }));
  app.get('/assets/dashboard.js', (c) => c.body(DASHBOARD_JS, 200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': ASSET_CACHE, 'x-content-type-options': 'nosniff' }));
  // Browsers ask for it on every site: an empty answer rather than a 404 in their console.
  app.get('/favicon.ico', (c) => c.body(null, 204, { 'cache-control': ASSET_CACHE }));
  authRoutes(app, d);
  liveRoutes(app, d);
  pageRoutes(app, d);
  actionRoutes(app, d);
  return app;
}

export type { DashboardOptions } from './context.js';
