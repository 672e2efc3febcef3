import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';

/** Where the approver's HTTP API is and the token to use (PW_APPROVER_URL, PW_APPROVER_TOKEN). */
export interface ApproverSettings {
  url: string | undefined;
  token: string | undefined;
}

type Out = (line: string) => void;

/** A request to the approver that may take this long before the CLI gives up. */
const REQUEST_TIMEOUT_MS = 15_000;

/**
 * `pipewright approvals list|show|approve|reject|edit`: a client of the approver's HTTP API. The
 * audit trail records the token's name as who decided, via `cli`.
 */
export function registerApprovalCommands(program: Command, settings: () => ApproverSettings, out: Out = (l) => console.log(l)): void {
  const approvals = program.command('approvals').description('list, inspect and decide human approvals (approver HTTP API)');
  const call = (method: string, path: string, body?: unknown) => request(settings(), method, path, body);

  approvals
    .command('list')
    .description('approvals waiting for a decision (or decided, or all)')
    .addOption(new Option('--status <status>', 'which approvals').choices(['pending', 'decided', 'all']).default('pending'))
    .option('--limit <n>', 'most approvals shown', '50')
    .option('--json', 'print the API answer as JSON')
    .action(async (o: { status: string; limit: string; json?: boolean }) => {
      const r = await call('GET', `/api/approvals?status=${encodeURIComponent(o.status)}&limit=${encodeURIComponent(o.limit)}`);
      if (!ok(r, out)) return;
      if (o.json) return out(JSON.stringify(r.body, null, 2));
      const rows = (r.body['approvals'] as ApprovalView[] | undefined) ?? [];
      if (rows.length === 0) return out(`no ${o.status === 'all' ? '' : `${o.status} `}approvals`);
      for (const a of rows) out(listLine(a));
    });

  approvals
    .command('show')
    .argument('<approvalId>')
    .description('an approval with its context and audit trail')
    .option('--json', 'print the API answer as JSON')
    .action(async (id: string, o: { json?: boolean }) => {
      const r = await call('GET', `/api/approvals/${encodeURIComponent(id)}`);
      if (!ok(r, out)) return;
      if (o.json) return out(JSON.stringify(r.body, null, 2));
      out(showText(r.body['approval'] as ApprovalView, (r.body['audit'] as AuditView[] | undefined) ?? []));
    });

  approvals
    .command('approve')
    .argument('<approvalId>')
    .option('--comment <text>', 'a note kept with the decision')
    .action(async (id: string, o: { comment?: string }) => decided(await call('POST', `/api/approvals/${encodeURIComponent(id)}/approve`, o.comment ? { comment: o.comment } : {}), out));

  approvals
    .command('reject')
    .argument('<approvalId>')
    .requiredOption('--reason <text>', 'why (the run sees it)')
    .action(async (id: string, o: { reason: string }) => decided(await call('POST', `/api/approvals/${encodeURIComponent(id)}/reject`, { reason: o.reason }), out));

  approvals
    .command('edit')
    .argument('<approvalId>')
    .requiredOption('-a, --arguments <json|@file>', "the tool's arguments to run with instead, or a budget request's new limits (checked against the request's schema)")
    .option('--comment <text>', 'a note kept with the decision')
    .description('approve with edited arguments')
    .action(async (id: string, o: { arguments: string; comment?: string }) => {
      let args: unknown;
      try {
        args = JSON.parse(o.arguments.startsWith('@') ? readFileSync(o.arguments.slice(1), 'utf8') : o.arguments);
      } catch (err) {
        out(`error: --arguments is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
        process.exitCode = 2;
        return;
      }
      decided(await call('POST', `/api/approvals/${encodeURIComponent(id)}/edit`, { arguments: args, ...(o.comment ? { comment: o.comment } : {}) }), out);
    });
}

/**
 * Runs one `approvals …` command line (without the leading `approvals`) and returns its exit code,
 * for tests and scripts that drive the CLI in-process.
 */
export async function runApprovalsCommand(args: readonly string[], settings: () => ApproverSettings, out: Out): Promise<number> {
  const program = new Command('pipewright').exitOverride().configureOutput({ writeOut: (s) => out(s.trimEnd()), writeErr: (s) => out(s.trimEnd()) });
  registerApprovalCommands(program, settings, out);
  const before = process.exitCode;
  process.exitCode = 0;
  try {
    await program.parseAsync(['approvals', ...args], { from: 'user' });
    return Number(process.exitCode ?? 0);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    out(`error: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  } finally {
    process.exitCode = before;
  }
}

interface ApprovalView {
  approvalId: string;
  status: string;
  deadlineAt?: string;
  escalation?: { to: string; at: string };
  request: {
    runId: string;
    stepId: string;
    pipeline?: string;
    action: { kind: string; tool?: string; arguments?: unknown };
    reason: string;
    reasoning?: string;
    confidence?: number;
    costSoFarUsd?: number;
    traceId?: string;
    requestedAt: string;
    budget?: { exceeded: string; current: Limits; spentUsd: number; spentTokens: number };
  };
  decision?: { decision: string; by: string; via: string; reason?: string; at: string; arguments?: unknown };
}
interface Limits {
  maxUsd?: number;
  maxTokens?: number;
}
interface AuditView {
  at: string;
  actor: string;
  channel: string;
  action: string;
  reason?: string;
  detail?: string;
  before?: unknown;
  after?: unknown;
}

async function request(s: ApproverSettings, method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  if (!s.url || !s.token) throw new Error('set PW_APPROVER_URL (e.g. http://localhost:8080) and PW_APPROVER_TOKEN to reach the approver');
  const res = await fetch(`${s.url.replace(/\/$/, '')}${path}`, {
    method,
    headers: { authorization: `Bearer ${s.token}`, 'x-pipewright-client': 'cli', ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) as Record<string, unknown> };
  } catch {
    return { status: res.status, body: { error: `HTTP ${res.status}`, message: text.slice(0, 200) } };
  }
}

function ok(r: { status: number; body: Record<string, unknown> }, out: Out): boolean {
  if (r.status >= 200 && r.status < 300) return true;
  const issues = (r.body['issues'] as { path: string; message: string }[] | undefined) ?? [];
  const message = typeof r.body['message'] === 'string' ? `: ${r.body['message']}` : '';
  out(`error: ${typeof r.body['error'] === 'string' ? r.body['error'] : `HTTP ${r.status}`}${message}`);
  for (const i of issues) out(`  ${i.path}: ${i.message}`);
  process.exitCode = 1;
  return false;
}

function decided(r: { status: number; body: Record<string, unknown> }, out: Out): void {
  const a = r.body['approval'] as ApprovalView | undefined;
  if (r.status === 409 && a?.decision) {
    out(`already decided: ${a.decision.decision} by ${a.decision.by} (${a.decision.via}) at ${a.decision.at}; that decision stands`);
    process.exitCode = 1;
    return;
  }
  if (!ok(r, out) || !a?.decision) return;
  const d = a.decision;
  out(`${r.body['result'] === 'unchanged' ? 'already ' : ''}${d.decision}: ${a.approvalId} by ${d.by}${d.reason ? ` (${d.reason})` : ''}`);
}

function listLine(a: ApprovalView): string {
  const what = a.request.action.kind === 'tool' ? `tool ${a.request.action.tool ?? '?'}` : a.request.action.kind === 'budget' ? `budget ${a.request.stepId}` : `step ${a.request.stepId}`;
  const state = a.decision ? `${a.decision.decision} by ${a.decision.by}` : a.escalation ? `escalated to ${a.escalation.to}` : 'pending';
  const due = a.deadlineAt && !a.decision ? `  due ${a.deadlineAt}` : '';
  return `${a.approvalId.padEnd(36)} ${state.padEnd(24)} ${what.padEnd(24)} ${a.request.requestedAt}${due}`;
}

function showText(a: ApprovalView, audit: readonly AuditView[]): string {
  const q = a.request;
  const lines = [
    `approval ${a.approvalId}  ${a.decision ? a.decision.decision : a.status}${a.escalation ? `  (escalated to ${a.escalation.to})` : ''}`,
    `run ${q.runId}${q.pipeline ? ` (${q.pipeline})` : ''}  step ${q.stepId}  requested ${q.requestedAt}${a.deadlineAt ? `  deadline ${a.deadlineAt}` : ''}`,
    `action: ${q.action.kind === 'tool' ? `tool ${q.action.tool ?? '?'}` : q.action.kind === 'budget' ? `more budget for step ${q.stepId}` : 'step'}`,
    ...(q.action.kind === 'budget' ? budgetLines(q) : q.action.arguments !== undefined ? [`arguments: ${JSON.stringify(q.action.arguments)}`] : []),
    `why: ${q.reason}`,
    ...(q.confidence !== undefined ? [`confidence: ${Math.round(q.confidence * 100)}%`] : []),
    ...(q.costSoFarUsd !== undefined ? [`cost so far: $${q.costSoFarUsd.toFixed(4)}`] : []),
    ...(q.traceId ? [`trace: ${q.traceId}`] : []),
    ...(q.reasoning ? [`reasoning: ${q.reasoning}`] : []),
    ...(a.decision ? [`decision: ${a.decision.decision} by ${a.decision.by} (${a.decision.via}) at ${a.decision.at}${a.decision.reason ? `: ${a.decision.reason}` : ''}`] : []),
    'audit:',
    ...audit.map((e) => `  ${e.at}  ${e.action.padEnd(13)} ${e.actor} (${e.channel})${e.reason ? `  ${e.reason}` : ''}${e.detail ? `  ${e.detail}` : ''}${e.after !== undefined && e.action === 'edited' ? `  ${JSON.stringify(e.before)} → ${JSON.stringify(e.after)}` : ''}`),
  ];
  return lines.join('\n');
}

/** A budget request: the run limit in force, what the run spent, and the limits proposed (what `edit` changes). */
function budgetLines(q: ApprovalView['request']): string[] {
  const b = q.budget;
  const proposed = (q.action.arguments ?? {}) as Limits;
  if (!b) return [`proposed limits: ${JSON.stringify(proposed)}`];
  return [
    `run limit now: ${limitsText(b.current)} (${b.exceeded} reached)`,
    `spent so far: $${Number(b.spentUsd.toFixed(6))}, ${b.spentTokens.toLocaleString('en-US')} tokens`,
    `proposed: ${limitsText({ ...b.current, ...proposed })}  (edit: --arguments '${JSON.stringify(proposed)}')`,
  ];
}

function limitsText(l: Limits): string {
  const parts = [...(l.maxUsd !== undefined ? [`maxUsd $${Number(l.maxUsd.toFixed(6))}`] : []), ...(l.maxTokens !== undefined ? [`maxTokens ${l.maxTokens.toLocaleString('en-US')}`] : [])];
  return parts.join(', ') || 'none';
}
