import {
  AgentAction,
  DEFAULT_RETRY_POLICY,
  msgIds,
  renderTemplate,
  SCHEMA_VERSION,
  schemaValidator,
  subjects,
  taskIdOf,
  type AgentStep,
  type ChatMessage,
  type RunState,
  type StepCommand,
  type StepCompleted,
  type StepFailed,
  type ToolCall,
  type ToolCommand,
  resolvedTool,
  stepSpecOf,
} from '@pipewright/contracts';
import { approvalIds, gateOutput, gateTool, reasoningOf } from './approval-policy.js';
import { requestApproval } from './approval-request.js';
import type { Builder, Transition } from './builder.js';
import { maxStepsOf } from './run-limits.js';
import { buildCommand, oversize, templateContext } from './dispatch.js';
import { historyMessages, trimHistory } from './history.js';
import { createHash } from 'node:crypto';

/** Default per-call timeout of a tool. */
const DEFAULT_TOOL_TIMEOUT_MS = 10_000;

/** The command for one model turn of an agent step: the task, the (trimmed) history, the tools. */
export function buildAgentTurn(state: RunState, step: AgentStep, attempt: number, turn: number, history: readonly ChatMessage[], omitted = 0): StepCommand {
  const base = buildCommand(state, step, attempt);
  const ctx = templateContext(state, step.id);
  const messages: ChatMessage[] = [];
  if (step.system !== undefined) messages.push({ role: 'system', content: renderTemplate(step.system, ctx) });
  messages.push({ role: 'user', content: renderTemplate(step.prompt, ctx) });
  messages.push(...historyMessages(history, omitted));
  const tools = step.tools.map((name) => {
    const decl = resolvedTool(state.pipeline, name);
    return { name, description: decl.description, input: decl.input };
  });
  return { ...base, kind: 'agent-turn', turn, tools, call: { ...base.call, messages } };
}

export function agentStep(b: Builder, stepId: string): AgentStep | undefined {
  const spec = stepSpecOf(b.state.pipeline, stepId);
  return spec?.kind === 'agent' ? spec : undefined;
}

/** Canonical JSON (sorted keys), so the same arguments in another order count as the same action. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v) ?? 'null';
}

/**
 * A model turn finished: the action is a final answer, a refused tool call, a tool call held for
 * approval, or a tool call to run. A final answer may itself wait for approval (an output gate).
 */
export function onAgentTurn(b: Builder, event: StepCompleted): Transition {
  const step = agentStep(b, event.stepId);
  let st = b.state.steps[event.stepId]!;
  const agent = st.agent;
  if (!step || !agent) return { kind: 'unchanged', reason: `step ${event.stepId} is not an agent step` };
  if (event.turn !== agent.turn || agent.pendingCall || st.approval) return { kind: 'unchanged', reason: `stale agent turn ${event.turn ?? '?'} (at ${agent.turn})` };
  b.charge(event.usage, event.costUsd);
  // The turn answered: if it had parked, the step is no longer waiting for a provider.
  if (st.parkedAt !== undefined) {
    st = { ...st, parkedAt: undefined };
    b.state.steps[event.stepId] = st;
    b.resumeIfUnparked();
  }
  const parsed = AgentAction.safeParse(event.output);
  if (!parsed.success) {
    b.finish('failed', `step ${event.stepId}: the executor returned an invalid agent action`, [event.stepId]);
    return b.done();
  }
  const action = parsed.data;
  if (action.action === 'final') {
    const gate = gateOutput(b.state, step, action.output, action.confidence);
    if (gate) {
      b.state.steps[event.stepId] = { ...st, model: event.model, parkedAt: undefined };
      requestApproval(b, step, approvalIds.output(b.state.runId, step.id, st.attempt), gate, { kind: 'step', output: action.output }, reasoningOf(action.output, action.reasoning));
      b.resumeIfUnparked();
      return b.done();
    }
    b.completeStep(event.stepId, { output: action.output, model: event.model }, `agent ${event.stepId} answered after ${agent.turn} turn(s)`);
    return b.done();
  }
  const call = action.call;
  const assistant: ChatMessage = { role: 'assistant', content: action.reasoning ?? '', toolCalls: [call] };
  const refusal = refuse(b.state, step, call);
  if (refusal) {
    b.decide('refuse-tool', [event.stepId], `turn ${agent.turn}: ${refusal}`);
    const history = [...agent.history, assistant, { role: 'tool' as const, toolCallId: call.id, content: `error: ${refusal}` }];
    return nextTurn(b, step, history, agent.actionCounts);
  }
  // A digest of the arguments: the counts stay small however large the arguments are.
  const key = `${call.name}:${createHash('sha256').update(canonical(call.arguments)).digest('base64url').slice(0, 22)}`;
  const counts = { ...agent.actionCounts, [key]: (agent.actionCounts[key] ?? 0) + 1 };
  b.state.steps[event.stepId] = { ...st, agent: { ...agent, actionCounts: counts, history: [...agent.history, assistant] } };
  if (counts[key]! >= step.repeatLimit) {
    b.finish('failed', `agent ${event.stepId} asked for ${call.name} with the same arguments ${counts[key]} times (guard: repeatLimit)`, [event.stepId]);
    return b.done();
  }
  const gate = gateTool(b.state, step, call, action.confidence);
  if (gate) {
    const held = { kind: 'tool' as const, call, turn: agent.turn, argumentsSchema: resolvedTool(b.state.pipeline, call.name).input };
    requestApproval(b, step, approvalIds.tool(b.state.runId, step.id, st.attempt, agent.turn), gate, held, action.reasoning);
    return b.done();
  }
  return dispatchTool(b, step, call);
}

/**
 * Sends a validated tool call of the current turn to the executors. The command's msg id and the
 * tool's idempotency key depend only on the run, step, attempt and turn, so a call dispatched after an
 * approval (with the proposed or the edited arguments) is sent, and run, once.
 */
export function dispatchTool(b: Builder, step: AgentStep, call: ToolCall): Transition {
  const st = b.state.steps[step.id]!;
  const agent = st.agent!;
  if (b.state.dispatches + 1 > maxStepsOf(b.state)) {
    b.finish('failed', `step limit of ${maxStepsOf(b.state)} reached (guard: limits.maxSteps)`, [step.id]);
    return b.done();
  }
  b.state.steps[step.id] = { ...st, agent: { ...agent, pendingCall: call } };
  b.state.dispatches += 1;
  const decl = b.state.pipeline.tools[call.name]!;
  const cmd: ToolCommand = {
    schemaVersion: SCHEMA_VERSION,
    runId: b.state.runId,
    stepId: step.id,
    turn: agent.turn,
    attempt: st.attempt,
    pool: step.pool ?? b.state.pipeline.defaults.pool ?? 'default',
    kind: 'tool',
    tool: call.name,
    // Deterministic whatever id the model chose, so a retried call has the same idempotency key.
    callId: `t${agent.turn}`,
    arguments: call.arguments,
    idempotencyKey: `${b.state.runId}:${step.id}:t${agent.turn}`,
    timeoutMs: decl.timeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS,
    retry: { ...DEFAULT_RETRY_POLICY, ...(step.retry ?? {}) },
    deadlineAt: b.state.deadlineAt,
  };
  b.send(subjects.toolDispatch(cmd.pool), msgIds.command(b.state.runId, taskIdOf(cmd)), cmd);
  b.decide('call-tool', [step.id], `turn ${agent.turn}: ${call.name} ${canonical(call.arguments).slice(0, 200)}`);
  return b.done();
}

/** Why a tool call may not run, or undefined when it may. */
function refuse(state: RunState, step: AgentStep, call: ToolCall): string | undefined {
  if (!step.tools.includes(call.name)) return `tool "${call.name}" is not available to this step; available: ${step.tools.join(', ')}`;
  if (!state.pipeline.tools[call.name]) return `tool "${call.name}" is not declared`;
  const decl = resolvedTool(state.pipeline, call.name);
  const issues = schemaValidator.validate(decl.input, call.arguments, 'arguments');
  if (issues.length > 0) return `invalid arguments for ${call.name}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`;
  return undefined;
}

/** A tool call finished: its result goes into the history and the model takes the next turn. */
export function onToolResult(b: Builder, event: StepCompleted): Transition {
  return toolDone(b, event, JSON.stringify(event.output ?? null));
}

/** A tool call failed for good: the model is told, and decides what to do next. */
export function onToolFailed(b: Builder, event: StepFailed): Transition {
  return toolDone(b, event, `error: ${event.error.code}: ${event.error.message}`);
}

function toolDone(b: Builder, event: StepCompleted | StepFailed, content: string): Transition {
  const step = agentStep(b, event.stepId);
  const agent = b.state.steps[event.stepId]?.agent;
  if (!step || !agent?.pendingCall || event.turn !== agent.turn) return { kind: 'unchanged', reason: `no tool call in flight for ${event.stepId} turn ${event.turn ?? '?'}` };
  const history: ChatMessage[] = [...agent.history, { role: 'tool', toolCallId: agent.pendingCall.id, content: content.slice(0, 100_000) }];
  b.decide('tool-result', [event.stepId], `turn ${agent.turn}: ${agent.pendingCall.name} ${event.type === 'step.completed' ? 'answered' : 'failed'}`);
  return nextTurn(b, step, history, agent.actionCounts);
}

/** Feeds the history back to the model for its next turn, within the guards. */
export function nextTurn(b: Builder, step: AgentStep, full: ChatMessage[], actionCounts: Record<string, number>): Transition {
  const st = b.state.steps[step.id]!;
  const turn = (st.agent?.turn ?? 0) + 1;
  const trimmed = trimHistory(full, step.historyTokens);
  const history = trimmed.kept;
  const omitted = (st.agent?.omitted ?? 0) + trimmed.dropped;
  if (b.timedOut()) return b.done();
  if (turn > step.maxIterations) {
    b.state.steps[step.id] = { ...st, agent: { turn: turn - 1, history, omitted, actionCounts } };
    b.finish('failed', `agent ${step.id} used its ${step.maxIterations} turns without a final answer (guard: maxIterations)`, [step.id]);
    return b.done();
  }
  if (b.state.dispatches + 1 > maxStepsOf(b.state)) {
    b.finish('failed', `step limit of ${maxStepsOf(b.state)} reached (guard: limits.maxSteps)`, [step.id]);
    return b.done();
  }
  b.state.steps[step.id] = { ...st, agent: { turn, history, omitted, actionCounts } };
  const cmd = buildAgentTurn(b.state, step, st.attempt, turn, history, omitted);
  const tooLarge = oversize(cmd);
  if (tooLarge) {
    b.finish('failed', tooLarge, [step.id]);
    return b.done();
  }
  b.state.dispatches += 1;
  b.send(subjects.stepDispatch(cmd.pool), msgIds.command(b.state.runId, taskIdOf(cmd)), cmd);
  return b.done();
}
