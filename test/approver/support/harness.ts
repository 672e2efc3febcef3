import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { APPROVER_API_PORT, OPS_PORT_ENV, opsReadiness, REPO_ROOT } from '@pipewright/cli';
import type { ApprovalRequestInput } from '@pipewright/contracts';
import { ferretDbAvailable, startFerretDb, startNatsServer, startProcess, Stack, waitFor, type FerretHandle, type NatsServerHandle, type ProcessHandle } from '@pipewright/devstack';
import { Receiver } from './receiver.js';

/** Tokens of the people in these tests (name → token). */
export const TOKENS = { alice: 'alice-token-0123456789abcdef', bob: 'bob-token-0123456789abcdefgh', carol: 'carol-token-0123456789abcdef' } as const;
export const SLACK_SECRET = 'slack-signing-secret-for-tests';
export const WEBHOOK_SECRET = 'webhook-secret-0123456789';

/** An event the approver published on PW_EVENTS, as a consumer sees it. */
export interface SeenEvent {
  subject: string;
  msgId: string | undefined;
  body: Record<string, unknown>;
}

export interface HarnessOptions {
  store?: 'kv' | 'mongo';
  /** Extra environment for the approver. */
  env?: Record<string, string>;
}

let seq = 0;

/** A tool call that needs approval, as the planner would publish it. */
export function approvalRequest(over: Partial<ApprovalRequestInput> = {}): ApprovalRequestInput {
  const runId = over.runId ?? `run-${process.pid}-${Date.now().toString(36)}-${++seq}`;
  const stepId = over.stepId ?? 'refund';
  return {
    schemaVersion: 1,
    approvalId: `${runId}:${stepId}:1`,
    runId,
    stepId,
    pipeline: 'support-desk',
    action: { kind: 'tool', tool: 'issue_refund', arguments: { orderId: 'A-1001', amountUsd: 120, note: 'arrived damaged' } },
    argumentsSchema: {
      type: 'object',
      properties: { orderId: { type: 'string', pattern: '^A-\\d+$' }, amountUsd: { type: 'number', minimum: 0, maximum: 500 }, note: { type: 'string' } },
      required: ['orderId', 'amountUsd'],
      additionalProperties: false,
    },
    reason: 'tool issue_refund requires approval',
    reasoning: 'The customer sent a photo of the broken item within the return window, so a full refund matches the policy.',
    confidence: 0.62,
    costSoFarUsd: 0.0132,
    traceId: '0af7651916cd43dd8448eb211c80319c',
    requestedAt: new Date().toISOString(),
    ...over,
  };
}

/**
 * A real nats-server (and FerretDB for the MongoDB store), the approver as its own process, local
 * receivers for Slack and the generic webhook, and a consumer that records the approver's events.
 */
export class ApproverHarness {
  readonly events: SeenEvent[] = [];
  private readonly cleanup = new Stack();
  private readonly procs: ProcessHandle[] = [];
  nc!: NatsConnection;
  js!: JetStreamClient;
  apiUrl = '';
  private baseEnv: Record<string, string> = {};

  private constructor(
    readonly nats: NatsServerHandle,
    readonly receiver: Receiver,
    readonly ferret: FerretHandle | undefined,
  ) {}

  static mongoAvailable(): boolean {
    return ferretDbAvailable();
  }

  static async start(opts: HarnessOptions = {}): Promise<ApproverHarness> {
    const nats = await startNatsServer();
    const receiver = await Receiver.start();
    const ferret = opts.store === 'mongo' ? await startFerretDb() : undefined;
    const h = new ApproverHarness(nats, receiver, ferret);
    h.cleanup.add('nats-server', () => nats.stop());
    h.cleanup.add('receiver', () => receiver.close());
    if (ferret) h.cleanup.add('ferretdb', () => ferret.stop());
    try {
      h.baseEnv = {
        NATS_URL: nats.url,
        PW_LOG_LEVEL: 'info',
        PW_SHUTDOWN_GRACE_MS: '3000',
        PW_APPROVER_HOST: '127.0.0.1',
        PW_APPROVER_TOKENS: Object.entries(TOKENS).map(([n, t]) => `${n}:${t}`).join(','),
        PW_APPROVER_SWEEP_INTERVAL_MS: '100',
        PW_SLACK_WEBHOOK_URL: `${receiver.url}/slack/main`,
        PW_SLACK_ESCALATION_WEBHOOK_URL: `${receiver.url}/slack/escalation`,
        PW_SLACK_SIGNING_SECRET: SLACK_SECRET,
        PW_APPROVER_WEBHOOK_URL: `${receiver.url}/hook`,
        PW_APPROVER_WEBHOOK_SECRET: WEBHOOK_SECRET,
        ...(ferret ? { PW_STORE: 'mongo', MONGODB_URL: ferret.url, PW_MONGODB_DB: 'approver_test' } : {}),
        ...opts.env,
      };
      h.apiUrl = await h.startApprover();
      h.nc = await connect({ servers: nats.url });
      h.cleanup.add('client', () => h.nc.drain());
      h.js = jetstream(h.nc);
      await h.recordEvents();
      return h;
    } catch (err) {
      await h.stop();
      throw err;
    }
  }

  /**
   * Starts one more approver process (a replica) and returns its API base URL. Its API and ops server
   * bind ports of their own choosing (0), read from the lines that report them: test files run in
   * parallel, and a port picked as free may be taken before the approver binds it (issue 10).
   */
  async startApprover(extraEnv: Record<string, string> = {}): Promise<string> {
    const proc = await startProcess({
      name: `approver-${this.procs.length + 1}`,
      command: process.execPath,
      args: [`${REPO_ROOT}services/approver/dist/main.js`],
      inheritEnv: false,
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...this.baseEnv, PW_APPROVER_PORT: '0', ...OPS_PORT_ENV, ...extraEnv },
      ...opsReadiness({ api: APPROVER_API_PORT }),
      readyTimeoutMs: 20_000,
    });
    this.procs.push(proc);
    this.cleanup.add(proc.name, () => proc.stop(5_000));
    return `http://127.0.0.1:${proc.port('api')}`;
  }

  processes(): readonly ProcessHandle[] {
    return this.procs;
  }

  async publish(req: ApprovalRequestInput): Promise<ApprovalRequestInput> {
    await this.js.publish('pw.approvals.request', JSON.stringify(req), { msgID: req.approvalId });
    return req;
  }

  /** Publishes a request and waits until the approver has stored it (visible through the API). */
  async publishAndWait(req: ApprovalRequestInput): Promise<ApprovalRequestInput> {
    await this.publish(req);
    await waitFor(`approval ${req.approvalId} stored`, async () => ((await this.api('GET', `/api/approvals/${encodeURIComponent(req.approvalId)}`)).status === 200 ? true : undefined), { timeoutMs: 10_000, intervalMs: 25 });
    return req;
  }

  async api(method: string, path: string, o: { token?: string | null; body?: unknown; headers?: Record<string, string>; base?: string } = {}): Promise<{ status: number; json: Record<string, unknown> }> {
    const token = o.token === undefined ? TOKENS.alice : o.token;
    const res = await fetch(`${o.base ?? this.apiUrl}${path}`, {
      method,
      headers: { ...(token !== null ? { authorization: `Bearer ${token}` } : {}), ...(o.body !== undefined ? { 'content-type': 'application/json' } : {}), ...o.headers },
      ...(o.body !== undefined ? { body: typeof o.body === 'string' ? o.body : JSON.stringify(o.body) } : {}),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      json = { text };
    }
    return { status: res.status, json };
  }

  /** The approver's events of one approval (decided, escalated). */
  eventsOf(approvalId: string, type?: string): SeenEvent[] {
    return this.events.filter((e) => e.body['approvalId'] === approvalId && (type === undefined || e.body['type'] === type));
  }

  waitForDecision(approvalId: string, timeoutMs = 10_000): Promise<Record<string, unknown>> {
    return waitFor(`approval.decided for ${approvalId}`, () => this.eventsOf(approvalId, 'approval.decided')[0]?.body, { timeoutMs, intervalMs: 20 });
  }

  async stop(): Promise<void> {
    await this.cleanup.stopAll();
  }

  private async recordEvents(): Promise<void> {
    const consumer = await this.js.consumers.get('PW_EVENTS', { filter_subjects: ['pw.events.*.approval.>'] });
    const messages = await consumer.consume();
    this.cleanup.add('event recorder', () => Promise.resolve(messages.stop()));
    void (async () => {
      for await (const m of messages) this.events.push({ subject: m.subject, msgId: m.headers?.get('Nats-Msg-Id') || undefined, body: m.json<Record<string, unknown>>() });
    })();
  }
}
