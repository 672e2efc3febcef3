import { Hono } from 'hono';
import type { ConsolePorts, ToolsReader } from '../ports.js';
import { requireRole, type ApiEnv } from './auth.js';
import { answer } from './runs-routes.js';

/** `GET /api/v1/tools`: the tool registry (docs/api.md). */
export function toolsRoutes(p: ConsolePorts, tools: ToolsReader): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  app.get('/tools', requireRole(p.auth, 'read'), async (c) => answer(c, await tools.list()));
  return app;
}
