import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalStack, submitRun, watchRun, type RunEnd } from '@pipewright/cli';
import type { RunEvent } from '@pipewright/contracts';
import { waitFor } from '@pipewright/devstack';
import { serveTool, type ToolHandle } from '@pipewright/tools';
import { logLines } from '../../resilience/support.js';
import { client } from '../../support/run.js';
import { TOKENS } from './harness.js';

/** The refund tool's input as the pipeline declares it (an edit is validated against it by the approver). */
export const REFUND_INPUT = {
  type: 'object',
  properties: { orderId: { type: 'string', pattern: '^A-\\d+$' }, amountUsd: { type: 'number', minimum: 0, maximum: 500 }, note: { type: 'string' } },
  required: ['orderId', 'amountUsd'],
  additionalProperties: false,
} as const;

/** One call the refund tool received. */
export interface RefundCall {
  key: string;
  args: Record<string, unknown>;
}

/**
 * The whole path of an approval as separate processes: nats-server, the simulator, planner, executor
 * and approver (real API and inbox), plus a refund tool served from this process that records every
 * call it receives by idempotency key, without receipts, so a second delivery would be counted.
 */
export class ApprovalStack {
  private constructor(
    readonly stack: LocalStack,
    readonly c: Awaited<ReturnType<typeof client>>,
    private readonly tool: ToolHandle,
    readonly logDir: string,
    /** Every call the refund tool received, in order. */
    readonly refunds: RefundCall[],
  ) {}

  static async start(): Promise<ApprovalStack> {
    const logDir = mkdtempSync(join(tmpdir(), 'pw-approval-e2e-'));
    const stack = await LocalStack.start({
      services: ['planner', 'executor', 'approver'],
      logDir,
      env: { PW_APPROVER_TOKENS: Object.entries(TOKENS).map(([n, t]) => `${n}:${t}`).join(','), PW_APPROVER_SWEEP_INTERVAL_MS: '50' },
    });
    try {
      const c = await client(stack.natsOptions());
      const refunds: RefundCall[] = [];
      const tool = await serveTool(c.nc, {
        name: 'issue-refund',
        description: 'Refunds an order',
        version: '1.0.0',
        // The pipelines declare this very schema: a declared schema must be the one the tool registered.
        input: REFUND_INPUT,
        handler: (args, ctx) => {
          refunds.push({ key: ctx.idempotencyKey, args });
          return Promise.resolve({ refundId: `rf-${refunds.length}`, amountUsd: args['amountUsd'] });
        },
      });
      await tool.registered;
      return new ApprovalStack(stack, c, tool, logDir, refunds);
    } catch (err) {
      await stack.stop();
      throw err;
    }
  }

  get apiUrl(): string {
    return `http://127.0.0.1:${this.stack.approverPort ?? 0}`;
  }

  /** Calls the approver's HTTP API as a person (alice unless told). */
  async api(method: string, path: string, body?: unknown, token: string = TOKENS.alice): Promise<{ status: number; json: Record<string, unknown> }> {
    const res = await fetch(`${this.apiUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(10_000),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  }

  /** Waits (bounded) until the approver holds a pending approval with this id; returns its request. */
  async pending(approvalId: string, timeoutMs = 20_000): Promise<Record<string, unknown>> {
    return waitFor(`approval ${approvalId} pending in the approver`, async () => {
      const r = await this.api('GET', `/api/approvals/${encodeURIComponent(approvalId)}`);
      const approval = r.json['approval'] as { status?: string; request?: Record<string, unknown> } | undefined;
      return r.status === 200 && approval?.status === 'pending' ? approval.request : undefined;
    }, { timeoutMs, intervalMs: 50 });
  }

  /** Submits a run and watches it in the background: events as they come, and its end. */
  async submit(pipeline: unknown, input: Record<string, unknown>, runId: string): Promise<Watched> {
    await submitRun(this.c.js, pipeline, input, { runId });
    const events: RunEvent[] = [];
    const end = watchRun(this.c.js, runId, (e) => events.push(e), { timeoutMs: 60_000 });
    end.catch(() => undefined); // awaited by the test; this only keeps an early failure from being unhandled
    return { runId, events, end };
  }

  /** Lines of the planner's log (JSON), for what it decided to ignore. */
  plannerLog(): Record<string, unknown>[] {
    return logLines(join(this.logDir, 'planner-1.log'));
  }

  async stop(): Promise<void> {
    await this.tool.stop(1_000);
    await this.c.close();
    await this.stack.stop();
  }
}

export interface Watched {
  runId: string;
  events: RunEvent[];
  end: Promise<RunEnd>;
}

/** The pipeline of the tool-gate tests: an agent that may refund, with refunds held for a person. */
export function refundPipeline(name: string, approval: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    defaults: { model: 'sim-small', retry: { maxAttempts: 2, initialIntervalMs: 10 } },
    tools: { 'issue-refund': { description: 'Refunds an order', input: REFUND_INPUT } },
    steps: [
      {
        id: 'support',
        kind: 'agent',
        prompt: 'Resolve: {{input.message}}',
        tools: ['issue-refund'],
        output: { type: 'object', properties: { reply: { type: 'string' } }, required: ['reply'] },
        approval: { tools: ['issue-refund'], ...approval },
      },
    ],
  };
}

/** Simulator scripts: turn 1 proposes a refund, turn 2 answers. */
export function refundScript(runId: string, args: Record<string, unknown>, reply = 'Refund issued.') {
  return {
    scripts: [
      { match: { key: `${runId}:support:t1` }, reply: { toolCalls: [{ name: 'issue-refund', arguments: args }] } },
      { match: { key: `${runId}:support:t2` }, reply: { json: { reply } } },
    ],
  };
}
