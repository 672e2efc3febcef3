import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApproverHarness, approvalRequest } from '../../../test/approver/support/harness.js';
import { planDecision } from '../src/core/decide.js';
import { newRecord } from '../src/core/record.js';
import { openKvApproverStores } from '../src/store/kv.js';
import { ApprovalRequest } from '@pipewright/contracts';

/**
 * What survives a crash: deadlines live in the store (a killed approver's successor enforces them),
 * and a decision stored but never published (killed in between) is published by the sweeper.
 */
describe('approver recovery', () => {
  let h: ApproverHarness;

  beforeAll(async () => {
    h = await ApproverHarness.start();
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('a killed approver loses nothing: its successor enforces the stored deadline', async () => {
    const req = await h.publishAndWait(approvalRequest({ timeoutMs: 2_500, onTimeout: 'reject' }));
    await h.processes()[0]!.kill(); // SIGKILL: no graceful shutdown
    await new Promise((r) => setTimeout(r, 3_000)); // the deadline passes while no approver runs
    expect(h.eventsOf(req.approvalId)).toHaveLength(0);
    h.apiUrl = await h.startApprover();
    expect(await h.waitForDecision(req.approvalId, 15_000)).toMatchObject({ decision: 'rejected', by: 'timeout' });
    expect((await h.api('GET', `/api/approvals/${encodeURIComponent(req.approvalId)}`)).json['approval']).toMatchObject({ status: 'decided' });
  });

  it('a decision stored but not published (a crash in between) is published by the sweeper, once', async () => {
    const stores = await openKvApproverStores(h.nc);
    const request = ApprovalRequest.parse(approvalRequest());
    const { record } = newRecord(request, new Date(), undefined);
    const plan = planDecision(record, { kind: 'reject', reason: 'decided just before the crash' }, { name: 'alice', channel: 'api' }, { now: new Date(Date.now() - 10_000), nonce: 'x' });
    if (plan.kind !== 'decide') throw new Error(plan.kind);
    expect(await stores.approvals.create(plan.next)).toBe('created');
    expect(await h.waitForDecision(request.approvalId, 15_000)).toMatchObject({ decision: 'rejected', by: 'alice', reason: 'decided just before the crash' });
    await expect.poll(async () => (await stores.approvals.get(request.approvalId))?.value.published, { timeout: 10_000 }).toBe(true);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(h.eventsOf(request.approvalId, 'approval.decided')).toHaveLength(1);
  });
});
