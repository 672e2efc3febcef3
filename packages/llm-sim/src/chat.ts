// POST /v1/chat/completions: decode, pick a script and an outcome, count the call, wait the
// simulated latency, then answer, fault, drop or hang. Every request is counted, even rejected ones.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { composeAnswer } from './answer.js';
import type { Corruption } from './answer.js';
import { completionBody, completionId, writeStream } from './completion.js';
import { decideFault, parseFaultHeader } from './faults.js';
import type { FaultDecision } from './faults.js';
import { BodyTooLargeError, header, isGone, readBody, sendError, sendJson } from './http.js';
import { parseLatencyHeader, sampleLatencyMs, waitMs } from './latency.js';
import { decodeChatRequest } from './request.js';
import type { ChatRequest } from './request.js';
import type { ScriptHit } from './script.js';
import type { SimState } from './state.js';

/** Request headers the simulator reads. */
export const HEADERS = {
  idempotencyKey: 'idempotency-key',
  callAttempt: 'x-pw-call-attempt',
  fault: 'x-sim-fault',
  latency: 'x-sim-latency-ms',
} as const;

/** Response header naming the outcome of the call (handy when debugging a chaos run). */
export const OUTCOME_HEADER = 'x-sim-outcome';

function parseAttempt(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

function dropConnection(res: ServerResponse): void {
  const socket = res.socket;
  if (socket === null) return;
  // A TCP RST ("connection reset by peer") rather than a polite FIN, like a crashing proxy.
  if (typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
  else socket.destroy();
}

function respond(state: SimState, res: ServerResponse, req: ChatRequest, hit: ScriptHit | undefined, d: FaultDecision, key: string | undefined): void {
  const outcome = { [OUTCOME_HEADER]: d.outcome };
  switch (d.outcome) {
    case 'hang':
      return;
    case 'drop':
      return dropConnection(res);
    case '429':
      return sendError(
        res,
        429,
        { message: 'Rate limit reached for requests (simulated).', type: 'requests', code: 'rate_limit_exceeded' },
        { ...outcome, 'retry-after': String(d.retryAfterS), 'retry-after-ms': String(Math.round(d.retryAfterS * 1000)) },
      );
    case '500':
      return sendError(res, 500, { message: 'The server had an error while processing your request (simulated).', type: 'server_error', code: 'internal_error' }, outcome);
    case '503':
      return sendError(res, 503, { message: 'The model is currently overloaded or down (simulated).', type: 'server_error', code: 'service_unavailable' }, outcome);
    default: {
      let corruption: Corruption | undefined;
      if (d.outcome === 'malformed') corruption = { kind: 'malformed', variant: d.variant ?? state.nextMalformedVariant() };
      if (d.outcome === 'schema-break') corruption = { kind: 'schema-break' };
      const answer = composeAnswer(req, hit?.reply, state.seed, corruption);
      const meta = { id: completionId(), created: Math.floor(Date.now() / 1000), model: req.model };
      state.counters.bill(key, answer.promptTokens, answer.completionTokens);
      if (req.stream) {
        res.setHeader(OUTCOME_HEADER, d.outcome);
        writeStream(res, meta, answer, req.includeUsage);
      } else {
        sendJson(res, 200, completionBody(meta, answer), outcome);
      }
    }
  }
}

/** Handles one chat-completions request; `signal` aborts the simulated wait. */
export async function handleChat(state: SimState, httpReq: IncomingMessage, res: ServerResponse, signal: AbortSignal): Promise<void> {
  const key = header(httpReq, HEADERS.idempotencyKey);
  const attempt = parseAttempt(header(httpReq, HEADERS.callAttempt));
  const reject = (status: number, model: string | undefined, message: string, code: string, param: string | null): void => {
    state.counters.record({ key, attempt, model, outcome: String(status) });
    sendError(res, status, { message, type: 'invalid_request_error', code, param });
  };

  let raw: Buffer;
  try {
    raw = await readBody(httpReq);
  } catch (err) {
    if (err instanceof BodyTooLargeError) reject(413, undefined, err.message, 'request_too_large', null);
    return; // otherwise the client went away mid-body: nobody to answer
  }
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    return reject(400, undefined, 'We could not parse the JSON body of your request.', 'invalid_json', null);
  }
  const decoded = decodeChatRequest(body);
  if (!decoded.ok) {
    const m: unknown = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)['model'] : undefined;
    return reject(400, typeof m === 'string' ? m : undefined, decoded.message, 'invalid_request', decoded.param);
  }
  const req = decoded.request;
  const forcedHeader = parseFaultHeader(httpReq.headers[HEADERS.fault]);
  if (forcedHeader instanceof Error) return reject(400, req.model, forcedHeader.message, 'invalid_header', HEADERS.fault);
  const latencyHeader = parseLatencyHeader(httpReq.headers[HEADERS.latency]);
  if (latencyHeader instanceof Error) return reject(400, req.model, latencyHeader.message, 'invalid_header', HEADERS.latency);
  if (!state.knowsModel(req.model)) {
    state.counters.record({ key, attempt, model: req.model, outcome: '404' });
    return sendError(res, 404, {
      message: `The model \`${req.model}\` does not exist or you do not have access to it.`,
      type: 'invalid_request_error',
      code: 'model_not_found',
      param: 'model',
    });
  }

  const hit = state.scripts.next({ model: req.model, lastUserText: req.lastUserText, key, assistantTurns: req.assistantTurns });
  const decision = decideFault({ faults: state.config.faults, model: req.model, forced: forcedHeader ?? hit?.fault, draw: state.faultDraw() });
  state.counters.record({ key, attempt, model: req.model, outcome: decision.outcome });
  // Always sample, so that a header override does not shift the latency sequence of later calls.
  const sampled = sampleLatencyMs(state.latencyFor(req.model), state.latencyRandom);
  if (decision.outcome === 'hang') return; // the socket stays open until the client or close() ends it
  await waitMs(latencyHeader ?? sampled, signal);
  if (isGone(res)) return;
  respond(state, res, req, hit, decision, key);
}
