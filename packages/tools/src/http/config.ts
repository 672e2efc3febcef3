import { commonEnv, envBool, envInt, envList, parseEnv } from '@pipewright/kit';
import { z } from 'zod';
import { parseHostRules, type HostRules } from './hosts.js';
import type { HttpPolicy } from './policy.js';

const hostList = envList.transform((entries, ctx): HostRules => {
  const parsed = parseHostRules(entries);
  if (parsed.ok) return parsed.rules;
  ctx.addIssue({ code: 'custom', message: parsed.message });
  return z.NEVER;
});

const httpToolEnv = commonEnv.extend({
  /** Hosts the tool may reach: `api.example.com`, `*.example.com`, an IP, or `*` (any host). Required. */
  PW_HTTP_TOOL_ALLOW_HOSTS: hostList,
  /** Private addresses: `false`, `true` (for every allowed host) or a host list like the allowlist. */
  PW_HTTP_TOOL_ALLOW_PRIVATE: z.union([envBool, hostList]).default(false),
  /** The whole call, every redirect included. */
  PW_HTTP_TOOL_TIMEOUT_MS: envInt(100, 300_000).default(10_000),
  /** Response body bytes kept (the rest is not downloaded). Replies must fit NATS's max_payload. */
  PW_HTTP_TOOL_MAX_RESPONSE_BYTES: envInt(1, 8_388_608).default(262_144),
  PW_HTTP_TOOL_MAX_REDIRECTS: envInt(0, 20).default(5),
  /** Calls handled at once by one process. */
  PW_HTTP_TOOL_CONCURRENCY: envInt(1, 10_000).default(32),
  /** The tool's name (`pw.tools.<name>`): run several with different policies. */
  PW_HTTP_TOOL_NAME: z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{0,63}$/).default('http'),
  /** Receipts by idempotency key: `kv` (shared by replicas), `memory` (this process) or `off`. */
  PW_HTTP_TOOL_RECEIPTS: z.enum(['kv', 'memory', 'off']).default('kv'),
});

export type HttpToolConfig = ReturnType<typeof loadConfig>;

export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env) {
  const cfg = parseEnv(httpToolEnv, env);
  const policy: HttpPolicy = {
    allowHosts: cfg.PW_HTTP_TOOL_ALLOW_HOSTS,
    allowPrivate: cfg.PW_HTTP_TOOL_ALLOW_PRIVATE,
    maxRedirects: cfg.PW_HTTP_TOOL_MAX_REDIRECTS,
    maxResponseBytes: cfg.PW_HTTP_TOOL_MAX_RESPONSE_BYTES,
    timeoutMs: cfg.PW_HTTP_TOOL_TIMEOUT_MS,
  };
  return { ...cfg, policy };
}
