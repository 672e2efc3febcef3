import type { RunEvent } from '@pipewright/contracts';

const STATUS_MARK: Record<string, string> = { succeeded: 'OK', failed: 'FAILED', cancelled: 'CANCELLED', budget_exhausted: 'BUDGET', timed_out: 'TIMEOUT' };

/** One line per event, for people watching a run. */
export function renderEvent(e: RunEvent): string {
  const t = e.at.slice(11, 23);
  switch (e.type) {
    case 'run.started':
      return `${t}  run ${e.runId} started: ${e.pipeline} (${e.steps.length} steps: ${e.steps.join(', ')})`;
    case 'run.resumed':
      return `${t}  run ${e.runId} RESUMED from ${e.from}: ${e.reason}; running again: ${e.steps.join(', ') || 'nothing (ready to finish)'}`;
    case 'run.rejected':
      return `${t}  run ${e.runId} REJECTED: ${e.reason}\n${e.issues.map((i) => `           ${i.path}: ${i.message}`).join('\n')}`;
    case 'step.dispatched':
      return `${t}  step ${e.stepId.padEnd(14)} dispatched   attempt ${e.attempt}  model ${e.model.model}  pool ${e.pool}`;
    case 'step.completed':
      if (e.task === 'tool') return `${t}  step ${e.stepId.padEnd(14)} tool         ${e.model.model} answered (turn ${e.turn ?? '?'})  ${Math.round(e.latencyMs)} ms`;
      return `${t}  step ${e.stepId.padEnd(14)} completed    model ${e.model.model}  calls ${e.calls}  tokens ${e.usage.inputTokens}+${e.usage.outputTokens}${e.costUsd !== undefined ? `  $${e.costUsd.toFixed(6)}` : ''}  ${Math.round(e.latencyMs)} ms  (${e.rung})`;
    case 'step.started':
      return `${t}  step ${e.stepId.padEnd(14)} started      ${e.task}${e.turn !== undefined ? ` turn ${e.turn}` : ''} on ${e.owner}${e.takeover ? ` (took over from ${e.takeover.from}: ${e.takeover.why})` : ''}`;
    case 'step.revoked':
      return `${t}  step ${e.stepId.padEnd(14)} REVOKED      ${e.inFlight ? `stopping its ${e.task} on ${e.owner ?? 'an executor'}` : 'not started'}: ${e.reason}`;
    case 'task.spent':
      return `${t}  step ${e.stepId.padEnd(14)} spent        ${e.spend.length} call(s) of a delivery that lost the task (counted in the run's cost)`;
    case 'run.decided':
      return e.decisions.map((d) => `${t}  decision #${d.seq} ${d.action}${d.stepIds.length > 0 ? ` ${d.stepIds.join(',')}` : ''}: ${d.reason}`).join('\n');
    case 'step.parked':
      return `${t}  step ${e.stepId.padEnd(14)} PARKED       ${e.reason}; retrying at ${e.retryAt.slice(11, 19)} (run paused)`;
    case 'step.failed':
      return `${t}  step ${e.stepId.padEnd(14)} FAILED       ${e.error.code}: ${e.error.message}  calls ${e.calls}`;
    case 'approval.requested': {
      const what =
        e.action.kind === 'tool'
          ? `tool ${e.action.tool ?? '?'} ${JSON.stringify(e.action.arguments ?? null).slice(0, 120)}`
          : e.action.kind === 'budget'
            ? `more budget ${JSON.stringify(e.action.arguments ?? null).slice(0, 120)}`
            : 'its output';
      const timeout = e.timeoutMs !== undefined ? `; after ${e.timeoutMs} ms: ${e.onTimeout}` : '; no timeout';
      return `${t}  step ${e.stepId.padEnd(14)} WAITING      approval ${e.approvalId} of ${what}: ${e.reason}${timeout}`;
    }
    case 'approval.decided': {
      const args = e.decision === 'edited' ? ` with ${JSON.stringify(e.arguments ?? null).slice(0, 120)}` : '';
      return `${t}  step ${e.stepId.padEnd(14)} ${e.decision.toUpperCase().padEnd(12)} approval ${e.approvalId} by ${e.by} (${e.via})${args}${e.reason ? `: ${e.reason}` : ''}`;
    }
    case 'approval.escalated':
      return `${t}  step ${e.stepId.padEnd(14)} ESCALATED    approval ${e.approvalId} to ${e.to}; rejected at ${e.deadlineAt.slice(11, 19)} if nobody decides`;
    case 'run.finished':
      return [
        `${t}  run ${e.runId} ${STATUS_MARK[e.status] ?? e.status} in ${Math.round(e.durationMs)} ms: ${e.reason ?? ''}`,
        `           tokens ${e.usage.inputTokens} in + ${e.usage.outputTokens} out = ${e.usage.totalTokens}${e.costUsd > 0 ? `, cost $${e.costUsd.toFixed(6)}` : ''}${e.unsettled ? ` (${e.unsettled} task(s) never reported what they spent)` : ''}`,
        e.output !== undefined ? `           output: ${JSON.stringify(e.output, null, 2).replace(/\n/g, '\n           ')}` : '',
        e.partial !== undefined ? `           partial: ${JSON.stringify(e.partial)}` : '',
      ]
        .filter(Boolean)
        .join('\n');
  }
}
