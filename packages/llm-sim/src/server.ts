// The HTTP server: routing, admin endpoints and a close() that really closes (hung requests
// included), so that tests never leak sockets or timers.
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { handleChat } from './chat.js';
import type { SimCounters } from './counters.js';
import { readBody, sendError, sendJson } from './http.js';
import { parseSimConfig, SimConfigError } from './load-config.js';
import type { SimConfig } from './sim-config.js';
import { SimState } from './state.js';

export interface SimulatorOptions {
  /** TCP port to listen on; 0 picks a free one. @default 0 */
  port?: number;
  /** Interface to bind. @default '127.0.0.1' */
  host?: string;
  /** Initial configuration (validated; throws SimConfigError when invalid). @default {} */
  config?: SimConfig;
}

export interface SimulatorHandle {
  /** Base URL for the openai client, e.g. `http://127.0.0.1:41234/v1`. */
  url: string;
  port: number;
  /** Replaces faults/scripts at runtime (validated); restarts PRNGs and script sequences. */
  setConfig(config: SimConfig): void;
  /** A snapshot of the call counters. */
  counters(): SimCounters;
  resetCounters(): void;
  /** Stops listening and destroys every open socket, including hung requests. */
  close(): Promise<void>;
}

const CREATED_S = Math.floor(Date.now() / 1000);

function modelsBody(state: SimState): unknown {
  const data = (state.config.models ?? []).map((id) => ({ id, object: 'model', created: CREATED_S, owned_by: 'llm-sim' }));
  return { object: 'list', data };
}

async function readJson(req: IncomingMessage, res: ServerResponse): Promise<{ value: unknown } | undefined> {
  const raw = await readBody(req);
  try {
    return { value: raw.length === 0 ? {} : JSON.parse(raw.toString('utf8')) };
  } catch {
    sendError(res, 400, { message: 'Body is not valid JSON.', type: 'invalid_request_error', code: 'invalid_json' });
    return undefined;
  }
}

async function route(state: SimState, req: IncomingMessage, res: ServerResponse, signal: AbortSignal): Promise<void> {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  const method = req.method ?? 'GET';
  const key = `${method} ${path.replace(/\/+$/, '') || '/'}`;
  if (key === 'POST /v1/chat/completions') return handleChat(state, req, res, signal);
  if (key === 'GET /healthz') return sendJson(res, 200, { status: 'ok' });
  if (key === 'GET /v1/models') return sendJson(res, 200, modelsBody(state));
  if (method === 'GET' && path.startsWith('/v1/models/')) {
    const id = decodeURIComponent(path.slice('/v1/models/'.length));
    if (state.config.models?.includes(id) === true) return sendJson(res, 200, { id, object: 'model', created: CREATED_S, owned_by: 'llm-sim' });
    return sendError(res, 404, { message: `The model \`${id}\` does not exist.`, type: 'invalid_request_error', code: 'model_not_found', param: 'model' });
  }
  if (key === 'GET /_sim/counters') return sendJson(res, 200, state.counters.snapshot());
  if (key === 'POST /_sim/reset') {
    state.counters.reset();
    return sendJson(res, 200, { ok: true });
  }
  if (key === 'GET /_sim/config') return sendJson(res, 200, state.config);
  if (key === 'PUT /_sim/config') {
    const body = await readJson(req, res);
    if (body === undefined) return;
    try {
      state.setConfig(parseSimConfig(body.value));
    } catch (err) {
      if (!(err instanceof SimConfigError)) throw err;
      return sendError(res, 400, { message: err.message, type: 'invalid_request_error', code: 'invalid_config', param: err.field });
    }
    return sendJson(res, 200, { ok: true });
  }
  sendError(res, 404, { message: `Unknown request URL: ${method} ${path}.`, type: 'invalid_request_error', code: 'unknown_url' });
}

/** Starts an OpenAI-compatible simulator; resolves once it is listening. */
export async function startSimulator(opts: SimulatorOptions = {}): Promise<SimulatorHandle> {
  const state = new SimState(parseSimConfig(opts.config ?? {}));
  const sockets = new Set<Socket>();
  const inflight = new Set<AbortController>();

  const server = createServer((req, res) => {
    const ac = new AbortController();
    inflight.add(ac);
    res.on('close', () => {
      ac.abort();
      inflight.delete(ac);
    });
    req.on('error', () => undefined);
    res.on('error', () => undefined);
    route(state, req, res, ac.signal).catch((err: unknown) => {
      // A bug must not take the simulator down: answer 500 if still possible and keep serving.
      sendError(res, 500, { message: `llm-sim internal error: ${(err as Error).message}`, type: 'server_error', code: 'sim_internal_error' });
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('clientError', (_err, socket) => {
    // Unparseable HTTP: answer 400 when the socket still can, never throw.
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    else socket.destroy();
  });

  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : (opts.port ?? 0);
  const urlHost = host.includes(':') ? `[${host}]` : host;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${port}/v1`,
    port,
    setConfig: (config) => state.setConfig(parseSimConfig(config)),
    counters: () => state.counters.snapshot(),
    resetCounters: () => state.counters.reset(),
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const ac of inflight) ac.abort();
        for (const socket of sockets) socket.destroy();
      });
      return closing;
    },
  };
}
