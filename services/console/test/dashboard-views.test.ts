import type { Decision, StepView } from '@pipewright/contracts';
import { describe, expect, it } from 'vitest';
import { localPath } from '../src/dashboard/auth-routes.js';
import { filterQuery, MAX_LABEL_FILTERS, readFilters } from '../src/dashboard/filters.js';
import { dagSvg, layoutDag } from '../src/dashboard/views/dag.js';
import { agentTurns, inboxHref, jsonBlock, OUTPUT_PREVIEW_CHARS } from '../src/dashboard/views/steps.js';

const step = (id: string, needs: string[] = [], over: Partial<StepView> = {}): StepView => ({ id, kind: 'llm', needs, status: 'pending', attempt: 0, ...over });

describe('the DAG', () => {
  it('places steps by dependency level, in pipeline order within a level', () => {
    const placed = layoutDag([step('fetch'), step('classify', ['fetch']), step('lookup'), step('draft', ['classify', 'lookup']), step('review', ['draft', 'fetch'])]);
    expect(placed.map((p) => [p.step.id, p.level, p.row])).toEqual([
      ['fetch', 0, 0],
      ['classify', 1, 0],
      ['lookup', 0, 1],
      ['draft', 2, 0],
      ['review', 3, 0],
    ]);
  });

  it('survives a cycle and needs naming no step', () => {
    const placed = layoutDag([step('a', ['b']), step('b', ['a']), step('c', ['ghost'])]);
    expect(placed.every((p) => Number.isFinite(p.level))).toBe(true);
    expect(placed.find((p) => p.step.id === 'c')?.level).toBe(0);
  });

  it('draws a box per step (coloured by state, linking to the step) and an arrow per need', () => {
    const svg = dagSvg([step('fetch', [], { status: 'succeeded', attempt: 1 }), step('draft', ['fetch'], { status: 'failed', attempt: 3 }), step('send', ['draft', 'fetch'])]).text;
    expect(svg.match(/<path class="edge"/g)).toHaveLength(3);
    expect(svg.match(/<a href="#step-/g)).toHaveLength(3);
    expect(svg).toContain('class="node st-failed"');
    expect(svg).toContain('llm · failed · attempt 3');
    expect(svg).not.toContain('style=');
    expect(dagSvg([]).text).toBe('');
  });
});

describe('the agent loop', () => {
  it('groups the step’s decisions by turn', () => {
    const d = (seq: number, action: string, stepIds: string[], reason: string): Decision => ({ runId: 'r', seq, at: '2026-05-01T12:00:00.000Z', on: 'step.completed', action, stepIds, reason });
    const turns = agentTurns('agent', [d(1, 'dispatch', ['agent'], 'ready'), d(2, 'call-tool', ['agent'], 'turn 1: lookup {"id":1}'), d(3, 'tool-result', ['agent'], 'turn 1: lookup answered'), d(4, 'call-tool', ['other'], 'turn 1: x'), d(5, 'complete-step', ['agent'], 'turn 2: final answer')]);
    expect(turns.map((t) => [t.turn, t.decisions.map((x) => x.seq)])).toEqual([
      [1, [2, 3]],
      [2, [5]],
    ]);
  });
});

describe('outputs', () => {
  it('are pretty JSON, escaped, cut with a link to all of it', () => {
    const small = jsonBlock({ a: '<b>' }, '/all').text;
    expect(small).toContain('&quot;a&quot;: &quot;&lt;b&gt;&quot;');
    expect(small).not.toContain('/all');
    const big = jsonBlock({ text: 'x'.repeat(OUTPUT_PREVIEW_CHARS * 2) }, '/runs/r/json/output').text;
    expect(big).toContain('href="/runs/r/json/output"');
    expect(big).toMatch(/Show all \(7\.8 KB\)/);
    expect(big.length).toBeLessThan(OUTPUT_PREVIEW_CHARS + 400);
    expect(jsonBlock(undefined, '/x').text).toContain('none');
  });

  it('link to the inbox card of an approval, and never to another scheme', () => {
    expect(inboxHref('http://127.0.0.1:8080/inbox', 'ap 1')).toBe('http://127.0.0.1:8080/inbox#ap%201');
    expect(inboxHref('javascript:alert(1)', 'a')).toBeUndefined();
    expect(inboxHref(undefined, 'a')).toBeUndefined();
  });
});

describe('filters', () => {
  const now = Date.parse('2026-05-01T12:00:00.000Z');
  const read = (q: string) => readFilters(new URLSearchParams(q), now);

  it('become a list query: statuses, pipeline, labels, a time range, the cursor', () => {
    const r = read('status=failed,timed_out&pipeline=support&label=batch%3Dn1&label=team%3Do%22reilly&within=1h&cursor=abc');
    expect(r.ok && r.query).toEqual({ status: 'failed,timed_out', pipeline: 'support', label: ['batch=n1', 'team=o"reilly'], since: '2026-05-01T11:00:00.000Z', cursor: 'abc', limit: 50 });
    const range = read('since=2026-04-30T08:00&until=2026-05-01T00:00:00Z&status=any');
    expect(range.ok && range.query).toEqual({ since: '2026-04-30T08:00:00.000Z', until: '2026-05-01T00:00:00.000Z', limit: 50 });
    const both = read('within=15m&since=2020-01-01T00:00&until=2020-01-02T00:00');
    expect(both.ok && both.query).toEqual({ since: '2026-05-01T11:45:00.000Z', limit: 50 });
  });

  it('name what is wrong with a bad one', () => {
    const bad = read('label=nolabel&since=yesterday&within=3w');
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.problems).toEqual(['label "nolabel": write it as key=value', 'within: one of 15m, 1h, 24h, 7d']);
    const dates = read('since=yesterday');
    expect(!dates.ok && dates.problems).toEqual(['since: not a date and time (yesterday)']);
    const many = read(Array.from({ length: MAX_LABEL_FILTERS + 1 }, (_, i) => `label=k${i}%3Dv`).join('&'));
    expect(!many.ok && many.problems).toEqual([`at most ${MAX_LABEL_FILTERS} labels`]);
    const long = read(`label=${'k'.repeat(65)}%3Dv`);
    expect(long.ok).toBe(false);
  });

  it('round-trip through links (without the cursor unless asked)', () => {
    const r = read('status=failed&label=a%3Db&within=24h&cursor=c1');
    expect(filterQuery(r.filters)).toBe('status=failed&label=a%3Db&within=24h');
    expect(filterQuery(r.filters, { cursor: 'c2' })).toBe('status=failed&label=a%3Db&within=24h&cursor=c2');
  });
});

describe('after sign-in', () => {
  it('goes back to a page of this site only', () => {
    expect(localPath('/runs/r1?x=1')).toBe('/runs/r1?x=1');
    for (const bad of [undefined, '', 'https://evil.example', '//evil.example', '/\\evil.example', 'runs', '/login?next=/x', '/logout']) expect(localPath(bad), String(bad)).toBe('/runs');
  });
});
