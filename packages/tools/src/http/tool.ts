import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '@pipewright/kit';
import { z } from 'zod';
import type { ReceiptStore } from '../receipts/types.js';
import { serveTool } from '../serve/serve-tool.js';
import type { ToolHandle } from '../serve/spec.js';
import { guardedFetch, type FetchResult } from './fetch.js';
import type { HttpPolicy } from './policy.js';
import { systemResolver, type Resolver } from './resolve.js';

/** The tool's name unless configured otherwise. */
export const HTTP_TOOL_NAME = 'http';
const USER_AGENT = 'pipewright-http-tool/0.1';

/** Headers the transport owns, or that would let a caller step around the allowlist (Host). */
const RESERVED_HEADERS = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'keep-alive', 'upgrade', 'te', 'trailer', 'expect', 'proxy-authorization', 'proxy-connection']);

export const HttpToolArgs = z
  .object({
    url: z.string().min(1).max(8_192).refine((u) => URL.canParse(u), 'must be an absolute URL').describe('Absolute http or https URL on an allowed host'),
    method: z.enum(['GET', 'POST']).default('GET'),
    headers: z
      .record(z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'not a header name'), z.string().max(8_192))
      .refine((h) => Object.keys(h).every((k) => !RESERVED_HEADERS.has(k.toLowerCase())), { message: `may not set ${[...RESERVED_HEADERS].join(', ')}` })
      .optional(),
    body: z.union([z.string(), z.record(z.string(), z.unknown()), z.array(z.unknown())]).optional().describe('POST only: a string is sent as is, anything else as JSON'),
  })
  .strict()
  .refine((a) => a.body === undefined || a.method === 'POST', { path: ['body'], message: 'a body needs method POST' });
export type HttpToolArgs = z.output<typeof HttpToolArgs>;

export const HttpToolResult = z.object({
  status: z.number().int(),
  url: z.string(),
  redirects: z.array(z.string()),
  headers: z.record(z.string(), z.string()),
  body: z.string(),
  /** Text bodies are utf8; anything else is base64. */
  bodyEncoding: z.enum(['utf8', 'base64']),
  /** The body was longer than the tool keeps; the rest was not downloaded. */
  truncated: z.boolean(),
});
export type HttpToolResult = z.infer<typeof HttpToolResult>;

export interface HttpToolOptions {
  policy: HttpPolicy;
  /** @default 'http' (run several, e.g. `http-internal`, with different policies) */
  name?: string;
  /** @default the system resolver */
  resolve?: Resolver;
  dedupe?: ReceiptStore | undefined;
  concurrency?: number;
  log?: Logger | undefined;
}

/** Serves the built-in http tool: GET/POST to allowed hosts only (see docs/tools.md for the rules). */
export function serveHttpTool(nc: NatsConnection, opts: HttpToolOptions): Promise<ToolHandle> {
  const resolve = opts.resolve ?? systemResolver;
  return serveTool(nc, {
    name: opts.name ?? HTTP_TOOL_NAME,
    description:
      'Fetches a URL with GET or POST and returns the status, headers and body. Only allowed hosts can be reached; private and internal addresses are refused.',
    version: '1',
    input: HttpToolArgs,
    output: HttpToolResult,
    // The fetch's own time limit answers first with a precise reason; this is the backstop.
    timeoutMs: opts.policy.timeoutMs + 1_000,
    ...(opts.concurrency !== undefined ? { concurrency: opts.concurrency } : {}),
    dedupe: opts.dedupe,
    log: opts.log,
    handler: async (args, ctx) => {
      const headers: Record<string, string> = { 'user-agent': USER_AGENT, ...args.headers };
      let body: Buffer | undefined;
      if (args.body !== undefined) {
        body = Buffer.from(typeof args.body === 'string' ? args.body : JSON.stringify(args.body), 'utf8');
        if (typeof args.body !== 'string' && !hasHeader(headers, 'content-type')) headers['content-type'] = 'application/json';
      }
      // The call's idempotency key goes to the API too, so a POST repeated after a lost reply can be recognised there.
      if (args.method === 'POST' && !hasHeader(headers, 'idempotency-key')) headers['idempotency-key'] = ctx.idempotencyKey;
      const res = await guardedFetch({ url: args.url, method: args.method, headers, body }, opts.policy, { resolve, signal: ctx.signal });
      return toResult(res);
    },
  });
}

function hasHeader(headers: Record<string, string>, name: string): boolean {
  return Object.keys(headers).some((k) => k.toLowerCase() === name);
}

const TEXT_TYPES = /^(text\/|application\/([\w.+-]*\+)?(json|xml|javascript|x-www-form-urlencoded)\b)/i;

function toResult(res: FetchResult): HttpToolResult {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers)) if (v !== undefined && k !== 'set-cookie') headers[k] = Array.isArray(v) ? v.join(', ') : v;
  const type = headers['content-type'] ?? '';
  const text = type === '' || TEXT_TYPES.test(type);
  return {
    status: res.status,
    url: res.url,
    redirects: [...res.redirects],
    headers,
    body: res.body.toString(text ? 'utf8' : 'base64'),
    bodyEncoding: text ? 'utf8' : 'base64',
    truncated: res.truncated,
  };
}
