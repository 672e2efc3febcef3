import {
  BatchStats,
  CancelAccepted,
  RerunAccepted,
  ResumeAccepted,
  RunDetail,
  SignalAccepted,
  RunListPage,
  type Labels,
  type RerunBody,
  type ResumeBody,
  type RunStatus,
  type SignalBody,
} from '@pipewright/contracts';
import type { z } from 'zod';
import { UnavailableError } from '../cli/errors.js';
import { errorFor, sendJson, type HttpService } from '../cli/http.js';
import type { CliConfig } from '../config.js';

const API = '/api/v1';
const HINT = '`pipewright dev` prints PW_CONSOLE_URL and PW_CONSOLE_TOKEN for a local stack';

/** What `runs list` asks for; the runs API's query (`GET /api/v1/runs`). */
export interface ListFilter {
  status?: readonly RunStatus[];
  pipeline?: string;
  labels?: Labels;
  since?: string;
  until?: string;
  limit?: number;
  cursor?: string;
}

/**
 * The console's runs API as the CLI uses it: every answer decoded with its contract (a body that does
 * not fit is an error, never half-shown), every failure a typed error (`no run <id>` is exit 3).
 */
export class ConsoleClient {
  private readonly service: HttpService;

  /** `/api/v1`, unless the configured URL names it already (the dashboard's URL and the API's both work). */
  private readonly prefix: string;

  constructor(cfg: Pick<CliConfig, 'PW_CONSOLE_URL' | 'PW_CONSOLE_TOKEN'>) {
    this.prefix = cfg.PW_CONSOLE_URL?.replace(/\/+$/, '').endsWith(API) ? '' : API;
    this.service = { name: 'console', url: cfg.PW_CONSOLE_URL, token: cfg.PW_CONSOLE_TOKEN, urlSetting: 'PW_CONSOLE_URL (or --console-url)', tokenSetting: 'PW_CONSOLE_TOKEN (or --token)' };
  }

  list(f: ListFilter): Promise<RunListPage> {
    const q = new URLSearchParams();
    if (f.status && f.status.length > 0) q.set('status', f.status.join(','));
    if (f.pipeline !== undefined) q.set('pipeline', f.pipeline);
    for (const [k, v] of Object.entries(f.labels ?? {})) q.append('label', `${k}=${v}`);
    if (f.since !== undefined) q.set('since', f.since);
    if (f.until !== undefined) q.set('until', f.until);
    if (f.limit !== undefined) q.set('limit', String(f.limit));
    if (f.cursor !== undefined) q.set('cursor', f.cursor);
    return this.call('GET', `/runs?${q.toString()}`, RunListPage);
  }

  get(runId: string): Promise<RunDetail> {
    return this.call('GET', `/runs/${encodeURIComponent(runId)}`, RunDetail, { notFound: `no run ${runId}` });
  }

  cancel(runId: string, reason: string | undefined): Promise<CancelAccepted> {
    return this.call('POST', `/runs/${encodeURIComponent(runId)}/cancel`, CancelAccepted, { body: reason !== undefined ? { reason } : {}, notFound: `no run ${runId}` });
  }

  cancelByLabels(labels: Labels, reason: string | undefined): Promise<CancelAccepted> {
    return this.call('POST', '/runs/cancel', CancelAccepted, { body: { labels, ...(reason !== undefined ? { reason } : {}) } });
  }

  resume(runId: string, body: ResumeBody): Promise<ResumeAccepted> {
    return this.call('POST', `/runs/${encodeURIComponent(runId)}/resume`, ResumeAccepted, { body, notFound: `no run ${runId}` });
  }

  rerun(runId: string, body: RerunBody): Promise<RerunAccepted> {
    return this.call('POST', `/runs/${encodeURIComponent(runId)}/rerun`, RerunAccepted, { body, notFound: `no run ${runId}` });
  }

  signal(runId: string, name: string, body: SignalBody): Promise<SignalAccepted> {
    return this.call('POST', `/runs/${encodeURIComponent(runId)}/signals/${encodeURIComponent(name)}`, SignalAccepted, { body, notFound: `no run ${runId}` });
  }

  batch(labels: Labels): Promise<BatchStats> {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(labels)) q.append('label', `${k}=${v}`);
    return this.call('GET', `/batches?${q.toString()}`, BatchStats);
  }

  private async call<S extends z.ZodType>(method: string, path: string, schema: S, opts: { body?: unknown; notFound?: string } = {}): Promise<z.infer<S>> {
    const answer = await sendJson(this.service, method, `${this.prefix}${path}`, { hint: HINT, ...(opts.body !== undefined ? { body: opts.body } : {}) });
    if (answer.status < 200 || answer.status >= 300) throw errorFor(this.service, answer, opts.notFound);
    const parsed = schema.safeParse(answer.body);
    if (parsed.success) return parsed.data;
    const first = parsed.error.issues[0];
    throw new UnavailableError(`the console's answer to ${method} ${API}${path.split('?')[0] ?? ''} is not what this CLI expects (${first ? `${first.path.join('.') || '(root)'}: ${first.message}` : 'invalid'})`, [
      'the console and the CLI may be of different versions',
    ]);
  }
}
