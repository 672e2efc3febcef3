import { describe, expect, it } from 'vitest';
import { planDecision } from '../src/core/decide.js';
import { newRecord } from '../src/core/record.js';
import { planTimeout } from '../src/core/timeout.js';
import type { ApprovalRecord } from '../src/store/types.js';
import { request } from './fixtures.js';

const T0 = new Date('2030-01-01T10:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);
const alice = { name: 'alice', channel: 'inbox' } as const;
const ctx = (ms = 1_000) => ({ now: at(ms), nonce: 'n1' });

function pending(over: Parameters<typeof request>[0] = {}): ApprovalRecord {
  return newRecord(request({ requestedAt: T0.toISOString(), ...over }), T0, undefined).record;
}

describe('newRecord', () => {
  it('counts the deadline from requestedAt; no timeout means no deadline', () => {
    expect(pending({ timeoutMs: 90_000 }).deadlineAt).toBe('2030-01-01T10:01:30.000Z');
    expect(pending().deadlineAt).toBeUndefined();
    const { audit } = newRecord(request(), T0, undefined);
    expect(audit).toMatchObject({ entryId: 'requested', action: 'requested', after: { invoice: 'INV-7', amountUsd: 40 } });
  });
});

describe('planDecision', () => {
  it('approve: a decided record, an unpublished event, and an audit entry', () => {
    const p = planDecision(pending({ timeoutMs: 5_000 }), { kind: 'approve', comment: ' ok ' }, alice, ctx());
    if (p.kind !== 'decide') throw new Error(p.kind);
    expect(p.next).toMatchObject({ status: 'decided', published: false, decision: { decision: 'approved', by: 'alice', via: 'inbox', reason: 'ok' } });
    expect(p.next.deadlineAt).toBeUndefined();
    expect(p.decision.at).toBe(at(1_000).toISOString());
    expect(p.audit).toMatchObject({ entryId: 'decided', action: 'approved', actor: 'alice' });
  });

  it('reject needs a reason', () => {
    expect(planDecision(pending(), { kind: 'reject', reason: ' ' }, alice, ctx())).toEqual({ kind: 'invalid', issues: [{ path: 'reason', message: 'a rejection needs a reason' }] });
    expect(planDecision(pending(), { kind: 'reject', reason: 'no' }, alice, ctx())).toMatchObject({ kind: 'decide', decision: { decision: 'rejected', reason: 'no' } });
  });

  it('edit: checked against the schema with field paths; the audit keeps before and after', () => {
    const bad = planDecision(pending(), { kind: 'edit', arguments: { invoice: 7, amountUsd: 500, x: 1 } }, alice, ctx());
    expect(bad.kind === 'invalid' && bad.issues.map((i) => i.path).sort()).toEqual(['arguments.amountUsd', 'arguments.invoice', 'arguments.x']);
    const ok = planDecision(pending(), { kind: 'edit', arguments: { invoice: 'INV-7', amountUsd: 20 } }, alice, ctx());
    expect(ok).toMatchObject({ kind: 'decide', decision: { decision: 'edited', arguments: { invoice: 'INV-7', amountUsd: 20 } }, audit: { before: { invoice: 'INV-7', amountUsd: 40 }, after: { invoice: 'INV-7', amountUsd: 20 } } });
  });

  it('edit of a step (not a tool call) is refused', () => {
    const r = planDecision(pending({ action: { kind: 'step' } }), { kind: 'edit', arguments: {} }, alice, ctx());
    expect(r).toEqual({ kind: 'invalid', issues: [{ path: 'arguments', message: 'only a tool call or a budget request has arguments to edit' }] });
  });

  it('edit of a budget request: the new limits are checked against its schema', () => {
    const budget = pending({
      action: { kind: 'budget', arguments: { maxUsd: 0.02 } },
      argumentsSchema: { type: 'object', properties: { maxUsd: { type: 'number', exclusiveMinimum: 0.01 } }, required: ['maxUsd'], additionalProperties: false },
      budget: { exceeded: 'maxUsd', current: { maxUsd: 0.01 }, spentUsd: 0.009, spentTokens: 900 },
    });
    const low = planDecision(budget, { kind: 'edit', arguments: { maxUsd: 0.01 } }, alice, ctx());
    expect(low).toMatchObject({ kind: 'invalid', issues: [{ path: 'arguments.maxUsd', message: 'must be > 0.01' }] });
    const ok = planDecision(budget, { kind: 'edit', arguments: { maxUsd: 0.5 } }, alice, ctx());
    expect(ok).toMatchObject({ kind: 'decide', decision: { decision: 'edited', arguments: { maxUsd: 0.5 } }, audit: { before: { maxUsd: 0.02 }, after: { maxUsd: 0.5 } } });
  });

  it('a decided record answers `already`: same for a repeat, not for a different decision', () => {
    const first = planDecision(pending(), { kind: 'edit', arguments: { invoice: 'INV-7', amountUsd: 1 } }, alice, ctx());
    if (first.kind !== 'decide') throw new Error(first.kind);
    const bob = { name: 'bob', channel: 'api' } as const;
    expect(planDecision(first.next, { kind: 'edit', arguments: { invoice: 'INV-7', amountUsd: 1 } }, bob, ctx())).toMatchObject({ kind: 'already', same: true, audit: { action: 'repeated', actor: 'bob', entryId: 'repeat-n1' } });
    expect(planDecision(first.next, { kind: 'edit', arguments: { invoice: 'INV-7', amountUsd: 2 } }, bob, ctx())).toMatchObject({ kind: 'already', same: false });
    expect(planDecision(first.next, { kind: 'approve' }, bob, ctx())).toMatchObject({ kind: 'already', same: false });
  });
});

describe('planTimeout', () => {
  it('does nothing before the deadline, without one, or once decided', () => {
    expect(planTimeout(pending({ timeoutMs: 5_000 }), at(4_999))).toEqual({ kind: 'none' });
    expect(planTimeout(pending(), at(10 ** 9))).toEqual({ kind: 'none' });
    const d = planDecision(pending({ timeoutMs: 5_000 }), { kind: 'approve' }, alice, ctx());
    if (d.kind !== 'decide') throw new Error(d.kind);
    expect(planTimeout({ ...d.next, deadlineAt: at(5_000).toISOString() }, at(6_000))).toEqual({ kind: 'none' });
  });

  it('reject and approve by policy, decided by `timeout`', () => {
    expect(planTimeout(pending({ timeoutMs: 5_000 }), at(5_000))).toMatchObject({ kind: 'decide', decision: { decision: 'rejected', by: 'timeout', via: 'timeout' } });
    expect(planTimeout(pending({ timeoutMs: 5_000, onTimeout: 'approve' }), at(5_000))).toMatchObject({ kind: 'decide', decision: { decision: 'approved', by: 'timeout' } });
  });

  it('escalate: first a new deadline and an event for the group, then rejection', () => {
    const r = pending({ timeoutMs: 5_000, onTimeout: 'escalate', escalation: { to: 'leads', timeoutMs: 60_000 } });
    const first = planTimeout(r, at(6_000));
    if (first.kind !== 'escalate') throw new Error(first.kind);
    expect(first.next).toMatchObject({ status: 'pending', escalation: { to: 'leads', at: at(6_000).toISOString() }, deadlineAt: at(66_000).toISOString() });
    expect(first.event).toMatchObject({ type: 'approval.escalated', to: 'leads', deadlineAt: at(66_000).toISOString() });
    expect(planTimeout(first.next, at(65_999))).toEqual({ kind: 'none' });
    expect(planTimeout(first.next, at(66_000))).toMatchObject({ kind: 'decide', decision: { decision: 'rejected', reason: expect.stringContaining('after escalation to leads') } });
  });

  it('escalation without its own timeout waits the request timeout again', () => {
    const first = planTimeout(pending({ timeoutMs: 5_000, onTimeout: 'escalate', escalation: { to: 'leads' } }), at(5_000));
    expect(first.kind === 'escalate' && first.next.deadlineAt).toBe(at(10_000).toISOString());
  });
});
