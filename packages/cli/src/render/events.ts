import { AgentAction, type RunEvent } from '@pipewright/contracts';
import { clean, styleFor, type Style } from '../cli/io.js';
import { elapsed, excerpt, usd } from './format.js';

type Of<T extends RunEvent['type']> = Extract<RunEvent, { type: T }>;

const STATUS_MARK: Record<string, string> = { succeeded: 'OK', failed: 'FAILED', cancelled: 'CANCELLED', budget_exhausted: 'BUDGET', timed_out: 'TIMEOUT' };
const INDENT = '           ';

/**
 * One line (or a few) per run event, for people watching a run. It remembers the tool calls agent turns
 * make, so a tool's own events show the tool's name and call id: a tool is not a model, and has no tokens.
 */
export class EventRenderer {
  /** `<stepId>:<attempt>:<turn>` → the tool call that turn made. */
  private readonly calls = new Map<string, { id: string; name: string }>();

  constructor(private readonly style: Style = styleFor(false)) {}

  render(e: RunEvent): string {
    const t = this.style.dim(e.at.slice(11, 23));
    const step = (id: string, word: string) => `${t}  step ${id.padEnd(14)} ${word}`;
    const s = this.style;
    switch (e.type) {
      case 'run.started':
        return `${t}  run ${e.runId} started: ${clean(e.pipeline)} (${e.steps.length} steps: ${e.steps.join(', ')})${e.rerunOf ? `; re-run of ${e.rerunOf.runId} from ${e.rerunOf.stepId}, reusing ${e.rerunOf.reused.join(', ') || 'nothing'}` : ''}`;
      case 'run.resumed':
        return `${t}  run ${e.runId} ${s.info('RESUMED')} from ${e.from}: ${clean(e.reason)}; running again: ${e.steps.join(', ') || 'nothing (ready to finish)'}`;
      case 'run.rejected':
        return `${t}  run ${e.runId} ${s.bad('REJECTED')}: ${clean(e.reason)}\n${e.issues.map((i) => `${INDENT}${clean(i.path)}: ${clean(i.message)}`).join('\n')}`;
      case 'step.dispatched':
        return `${step(e.stepId, 'dispatched  ')} attempt ${e.attempt}  model ${clean(e.model.model)}  pool ${e.pool}`;
      case 'step.started':
        return `${step(e.stepId, 'started     ')} ${this.taskName(e)}${e.turn !== undefined && e.task !== 'tool' ? ` turn ${e.turn}` : ''} on ${clean(e.owner)}${e.takeover ? ` (took over from ${clean(e.takeover.from)}: ${clean(e.takeover.why)})` : ''}`;
      case 'step.completed':
        return this.completed(e, step);
      case 'step.failed': {
        const what = e.task === 'tool' ? `${this.taskName(e)}: ` : '';
        return `${step(e.stepId, s.bad('FAILED      '))} ${what}${clean(e.error.code)}: ${clean(e.error.message)}  calls ${e.calls}`;
      }
      case 'step.revoked':
        return `${step(e.stepId, s.warn('REVOKED     '))} ${e.inFlight ? `stopping its ${this.taskName(e)} on ${clean(e.owner ?? 'an executor')}` : 'not started'}: ${clean(e.reason)}`;
      case 'task.spent':
        return `${step(e.stepId, 'spent       ')} ${e.spend.length} call(s) of a delivery that lost the task (counted in the run's cost)`;
      case 'run.decided':
        return e.decisions.map((d) => `${t}  decision #${d.seq} ${d.action}${d.stepIds.length > 0 ? ` ${d.stepIds.join(',')}` : ''}: ${clean(d.reason)}`).join('\n');
      case 'step.parked':
        return `${step(e.stepId, s.warn('PARKED      '))} ${clean(e.reason)}; retrying at ${e.retryAt.slice(11, 19)} (run paused)`;
      case 'approval.requested':
        return this.approvalRequested(e, step);
      case 'approval.decided': {
        const args = e.decision === 'edited' ? ` with ${excerpt(e.arguments ?? null, 120)}` : '';
        const word = e.decision.toUpperCase().padEnd(12);
        return `${step(e.stepId, e.decision === 'rejected' ? s.bad(word) : s.ok(word))} approval ${clean(e.approvalId)} by ${clean(e.by)} (${e.via})${args}${e.reason ? `: ${clean(e.reason)}` : ''}`;
      }
      case 'approval.escalated':
        return `${step(e.stepId, s.warn('ESCALATED   '))} approval ${clean(e.approvalId)} to ${clean(e.to)}; rejected at ${e.deadlineAt.slice(11, 19)} if nobody decides`;
      case 'run.finished':
        return this.finished(e, t);
    }
  }

  private completed(e: Of<'step.completed'>, step: (id: string, word: string) => string): string {
    const ok = (w: string) => this.style.ok(w);
    if (e.task === 'tool') {
      const call = this.calls.get(callKey(e));
      return `${step(e.stepId, ok('tool        '))} ${clean(e.model.model)}${call ? `  call ${clean(call.id)}` : ''}  answered (turn ${e.turn ?? '?'})  ${elapsed(e.latencyMs)}`;
    }
    const spent = `model ${clean(e.model.model)}  calls ${e.calls}  tokens ${e.usage.inputTokens}+${e.usage.outputTokens}${e.costUsd !== undefined ? `  $${e.costUsd.toFixed(6)}` : ''}  ${Math.round(e.latencyMs)} ms`;
    if (e.task === 'agent-turn') {
      const action = AgentAction.safeParse(e.output);
      if (action.success && action.data.action === 'tool') {
        const { id, name } = action.data.call;
        this.calls.set(callKey(e), { id, name });
        return `${step(e.stepId, ok('turn        '))} ${e.turn ?? '?'} → tool ${clean(name)} (call ${clean(id)})  ${spent}`;
      }
      if (action.success) return `${step(e.stepId, ok('turn        '))} ${e.turn ?? '?'} → final answer  ${spent}`;
    }
    return `${step(e.stepId, ok('completed   '))} ${spent}  (${e.rung})`;
  }

  private approvalRequested(e: Of<'approval.requested'>, step: (id: string, word: string) => string): string {
    const what =
      e.action.kind === 'tool'
        ? `tool ${clean(e.action.tool ?? '?')} ${excerpt(e.action.arguments ?? null, 120)}`
        : e.action.kind === 'budget'
          ? `more budget ${excerpt(e.action.arguments ?? null, 120)}`
          : 'its output';
    const timeout = e.timeoutMs !== undefined ? `; after ${e.timeoutMs} ms: ${e.onTimeout}` : '; no timeout';
    return `${step(e.stepId, this.style.warn('WAITING     '))} approval ${clean(e.approvalId)} of ${what}: ${clean(e.reason)}${timeout}`;
  }

  private finished(e: Of<'run.finished'>, t: string): string {
    const mark = STATUS_MARK[e.status] ?? e.status;
    return [
      `${t}  run ${e.runId} ${e.status === 'succeeded' ? this.style.ok(mark) : this.style.bad(mark)} in ${Math.round(e.durationMs)} ms: ${clean(e.reason ?? '')}`,
      `${INDENT}tokens ${e.usage.inputTokens} in + ${e.usage.outputTokens} out = ${e.usage.totalTokens}${e.costUsd > 0 ? `, cost ${usd(e.costUsd)}` : ''}${e.unsettled ? ` (${e.unsettled} task(s) never reported what they spent)` : ''}`,
      e.output !== undefined ? `${INDENT}output: ${clean(JSON.stringify(e.output, null, 2)).replace(/\n/g, `\n${INDENT}`)}` : '',
      e.partial !== undefined ? `${INDENT}partial: ${excerpt(e.partial, 2_000)}` : '',
    ]
      .filter(Boolean)
      .join('\n');
  }

  /** `llm`, `agent-turn`, or `tool <name> (call <id>)` when the turn that made the call was seen. */
  private taskName(e: { stepId: string; attempt: number; turn?: number | undefined; task?: string | undefined }): string {
    if (e.task !== 'tool') return e.task ?? 'llm';
    const call = this.calls.get(callKey(e));
    return call ? `tool ${clean(call.name)} (call ${clean(call.id)})` : 'tool call';
  }
}

function callKey(e: { stepId: string; attempt: number; turn?: number | undefined }): string {
  return `${e.stepId}:${e.attempt}:${e.turn ?? 0}`;
}

/** One event on its own, without colours or the tool calls of earlier events. */
export function renderEvent(e: RunEvent): string {
  return new EventRenderer().render(e);
}
