import { SCHEMA_VERSION, type RunEvent } from '@pipewright/contracts';
import { describe, expect, it } from 'vitest';
import { clean, colorWanted, styleFor } from '../src/cli/io.js';
import { EventRenderer, renderEvent } from '../src/render/events.js';

const base = { schemaVersion: SCHEMA_VERSION, runId: 'run-1', at: '2026-11-24T10:00:00.000Z' } as const;

describe('watch lines', () => {
  it('shows what a completed step cost when the budget priced it, and nothing when it ran unmetered', () => {
    const completed = { ...base, type: 'step.completed', stepId: 'draft', attempt: 1, calls: 2, usage: { inputTokens: 120, outputTokens: 40, totalTokens: 160 }, latencyMs: 812.4, model: { provider: 'default', model: 'sim-small' }, output: {}, rung: 'direct' } as const;
    expect(renderEvent({ ...completed, costUsd: 0.000042 })).toMatch(/step draft +completed +model sim-small {2}calls 2 {2}tokens 120\+40 {2}\$0\.000042 {2}812 ms {2}\(direct\)$/);
    expect(renderEvent(completed as RunEvent)).not.toContain('$');
  });

  it('says why a step parked and that the run is paused', () => {
    const parked = { ...base, type: 'step.parked', stepId: 'draft', attempt: 1, reason: 'budget service unreachable', retryAt: '2026-11-24T10:00:05.000Z' } as const;
    expect(renderEvent(parked as RunEvent)).toContain('PARKED       budget service unreachable; retrying at 10:00:05 (run paused)');
  });
});

describe('tool steps in watch', () => {
  const turn = (turn: number, output: unknown) =>
    ({ ...base, type: 'step.completed', stepId: 'support', attempt: 1, task: 'agent-turn', turn, calls: 1, usage: { inputTokens: 50, outputTokens: 12, totalTokens: 62 }, latencyMs: 300, model: { provider: 'default', model: 'sim-small' }, output, rung: 'direct' }) as const;
  const tool = { ...base, type: 'step.completed', stepId: 'support', attempt: 1, task: 'tool', turn: 1, calls: 1, usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 }, latencyMs: 12.3, model: { provider: 'tool', model: 'lookup-order' }, output: { status: 'shipped' }, rung: 'direct' } as const;

  it('prints a tool as a tool, with its name, call id and latency: no model, no tokens', () => {
    const r = new EventRenderer();
    expect(r.render(turn(1, { action: 'tool', call: { id: 'call-7', name: 'lookup-order', arguments: { orderId: 'A-1' } } }))).toMatch(/step support +turn +1 → tool lookup-order \(call call-7\) {2}model sim-small/);
    const started = { ...base, type: 'step.started', stepId: 'support', attempt: 1, task: 'tool', turn: 1, owner: 'exec-1', delivery: 's1d1-x' } as const;
    expect(r.render(started)).toContain('started      tool lookup-order (call call-7) on exec-1');
    const line = r.render(tool);
    expect(line).toMatch(/step support +tool +lookup-order {2}call call-7 {2}answered \(turn 1\) {2}12 ms$/);
    expect(line).not.toMatch(/model|tokens/);
    expect(r.render(turn(2, { action: 'final', output: { answer: 'shipped' } }))).toMatch(/turn +2 → final answer {2}model sim-small {2}calls 1 {2}tokens 50\+12/);
  });

  it('a tool result seen without its turn still prints as a tool', () => {
    expect(renderEvent(tool)).toMatch(/tool +lookup-order {2}answered/);
    const failed = { ...base, type: 'step.failed', stepId: 'support', attempt: 1, task: 'tool', turn: 1, calls: 2, usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 }, latencyMs: 5, model: { provider: 'tool', model: 'lookup-order' }, error: { code: 'tool_error', message: 'no such order', retryable: false } } as const;
    expect(renderEvent(failed)).toContain('FAILED       tool call: tool_error: no such order  calls 2');
  });
});

describe('terminal safety and colours', () => {
  it('control characters from a run never reach the terminal raw', () => {
    expect(clean('ok\x1b]0;pwned\x07 \x9b2J\tand\nnext')).toBe('ok\\u001b]0;pwned\\u0007 \\u009b2J\tand\nnext');
    const finished = { ...base, type: 'run.finished', status: 'failed', reason: 'bad \x1b[2J', usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 }, costUsd: 0, durationMs: 10, output: { text: '\x1b[31m' } } as const;
    expect(renderEvent(finished as RunEvent)).not.toContain('\x1b');
  });

  it('colours only when asked; without them no escape code at all', () => {
    const parked = { ...base, type: 'step.parked', stepId: 'draft', attempt: 1, reason: 'x', retryAt: '2026-11-24T10:00:05.000Z' } as const;
    expect(new EventRenderer(styleFor(true)).render(parked)).toContain('\x1b[33mPARKED');
    expect(new EventRenderer(styleFor(false)).render(parked)).not.toContain('\x1b');
  });

  it('colours: FORCE_COLOR wins, then NO_COLOR, then a terminal that is not dumb', () => {
    expect(colorWanted(true, {})).toBe(true);
    expect(colorWanted(false, {})).toBe(false);
    expect(colorWanted(true, { NO_COLOR: '1' })).toBe(false);
    expect(colorWanted(true, { TERM: 'dumb' })).toBe(false);
    expect(colorWanted(false, { FORCE_COLOR: '1' })).toBe(true);
    expect(colorWanted(true, { FORCE_COLOR: '0' })).toBe(false);
    expect(colorWanted(false, { FORCE_COLOR: '1', NO_COLOR: '1' })).toBe(true);
  });
});
