import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { contentSecurityPolicy, errorMessage, securityHeaders } from '@pipewright/kit';
import { inboxRoutes } from '../inbox/routes.js';
import { apiRoutes } from './api.js';
import { MAX_BODY_BYTES, type HttpDeps } from './deps.js';
import { slackRoutes } from './slack.js';
import { traceRequests } from './tracing.js';

/** Pages may load our stylesheet and post forms to us; nothing else (no scripts, no framing). */
const PAGE_HEADERS = securityHeaders(contentSecurityPolicy());

/** The approver's HTTP surface: `/api` (bearer tokens), `/inbox` (sessions), `/slack` (Slack signatures). */
export function buildApp(d: HttpDeps): Hono {
  const app = new Hono();
  app.use('*', traceRequests());
  app.use('*', async (c, next) => {
    await next();
    for (const [name, value] of Object.entries(PAGE_HEADERS)) c.header(name, value);
    if (!c.req.path.endsWith('.css')) c.header('cache-control', 'no-store');
  });
  app.use('*', bodyLimit({ maxSize: MAX_BODY_BYTES, onError: (c) => c.json({ error: 'too_large', message: `bodies are limited to ${MAX_BODY_BYTES} bytes` }, 413) }));
  app.get('/', (c) => c.redirect('/inbox', 302));
  app.route('/api', apiRoutes(d));
  app.route('/inbox', inboxRoutes(d));
  app.route('/slack', slackRoutes(d));
  app.notFound((c) => c.json({ error: 'not_found' }, 404));
  app.onError((err, c) => {
    d.log.error({ err: errorMessage(err), path: c.req.path }, 'request failed');
    return c.json({ error: 'internal', message: 'the request failed; see the approver log' }, 500);
  });
  return app;
}
