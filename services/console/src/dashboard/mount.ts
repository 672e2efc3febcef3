import type { DashboardMount } from '../wire.js';
import { dashboardRoutes } from './routes.js';

/** The dashboard at `/` of the console's app, configured from the console's variables. */
export const mountDashboard: DashboardMount = (ports, cfg) => (app) => {
  app.route(
    '/',
    dashboardRoutes(ports, {
      sessionTtlMs: cfg.PW_CONSOLE_SESSION_TTL_MS,
      ...(cfg.PW_CONSOLE_SESSION_SECRET ? { sessionSecret: cfg.PW_CONSOLE_SESSION_SECRET } : {}),
      ...(cfg.PW_CONSOLE_PUBLIC_URL ? { publicUrl: cfg.PW_CONSOLE_PUBLIC_URL } : {}),
    }),
  );
};
