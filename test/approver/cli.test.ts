import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The CLI's bin registers these commands; the test drives the same code in-process.
import { runApprovalsCommand } from '../../packages/cli/src/commands/approvals.js';
import { ApproverHarness, approvalRequest, TOKENS } from './support/harness.js';

/** `pipewright approvals …` against a running approver, as a person at a terminal uses it. */
describe('pipewright approvals (CLI)', () => {
  let h: ApproverHarness;
  const settings = (token: string = TOKENS.bob) => () => ({ url: h.apiUrl, token });

  async function cli(args: string[], token?: string): Promise<{ code: number; out: string }> {
    const lines: string[] = [];
    const code = await runApprovalsCommand(args, settings(token), (l) => lines.push(l));
    return { code, out: lines.join('\n') };
  }

  beforeAll(async () => {
    h = await ApproverHarness.start();
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('list and show a pending approval with its context and audit trail', async () => {
    const req = await h.publishAndWait(approvalRequest({ timeoutMs: 3_600_000 }));
    const list = await cli(['list']);
    expect(list.code).toBe(0);
    expect(list.out).toMatch(new RegExp(`${req.approvalId}\\s+pending\\s+tool issue_refund`));
    const show = await cli(['show', req.approvalId]);
    expect(show.code).toBe(0);
    expect(show.out).toContain(`run ${req.runId} (support-desk)  step refund`);
    expect(show.out).toContain('arguments: {"orderId":"A-1001","amountUsd":120,"note":"arrived damaged"}');
    expect(show.out).toContain('confidence: 62%');
    expect(show.out).toMatch(/requested\s+planner \(system\)/);
  });

  it('edit validates against the schema (exit 1, field named), then approves with the edit via `cli`', async () => {
    const req = await h.publishAndWait(approvalRequest());
    const bad = await cli(['edit', req.approvalId, '--arguments', '{"orderId":"A-1","amountUsd":-5}']);
    expect(bad.code).toBe(1);
    expect(bad.out).toContain('arguments.amountUsd: must be >= 0');
    const notJson = await cli(['edit', req.approvalId, '-a', '{oops']);
    expect(notJson.code).toBe(2);
    const good = await cli(['edit', req.approvalId, '-a', '{"orderId":"A-1","amountUsd":5}', '--comment', 'goodwill only']);
    expect(good).toEqual({ code: 0, out: `edited: ${req.approvalId} by bob (goodwill only)` });
    expect(await h.waitForDecision(req.approvalId)).toMatchObject({ decision: 'edited', by: 'bob', via: 'cli', arguments: { orderId: 'A-1', amountUsd: 5 } });
    const show = await cli(['show', req.approvalId]);
    expect(show.out).toContain('edited        bob (cli)');
  });

  it('approve, reject with a reason, and a second decision is refused with the first one shown', async () => {
    const a = await h.publishAndWait(approvalRequest());
    expect(await cli(['approve', a.approvalId])).toEqual({ code: 0, out: `approved: ${a.approvalId} by bob` });
    expect(await cli(['approve', a.approvalId])).toEqual({ code: 0, out: `already approved: ${a.approvalId} by bob` });
    const late = await cli(['reject', a.approvalId, '--reason', 'changed my mind'], TOKENS.carol);
    expect(late.code).toBe(1);
    expect(late.out).toMatch(/^already decided: approved by bob \(cli\)/);

    const r = await h.publishAndWait(approvalRequest());
    expect((await cli(['reject', r.approvalId])).code).not.toBe(0); // --reason is required
    expect(await cli(['reject', r.approvalId, '--reason', 'not our customer'])).toEqual({ code: 0, out: `rejected: ${r.approvalId} by bob (not our customer)` });
    expect(await h.waitForDecision(r.approvalId)).toMatchObject({ decision: 'rejected', reason: 'not our customer', via: 'cli' });
  });

  it('a wrong token or a missing URL is an error, not a decision', async () => {
    const req = await h.publishAndWait(approvalRequest());
    const denied = await cli(['approve', req.approvalId], 'wrong-token-0123456789abcdef');
    expect(denied).toMatchObject({ code: 4, out: expect.stringContaining('error: unauthorized') }); // exit 4: a refused token (docs/cli.md#exit-codes)
    const lines: string[] = [];
    expect(await runApprovalsCommand(['list'], () => ({ url: undefined, token: undefined }), (l) => lines.push(l))).toBe(4);
    expect(lines.join('\n')).toContain('PW_APPROVER_URL');
    await new Promise((r) => setTimeout(r, 200));
    expect(h.eventsOf(req.approvalId)).toHaveLength(0);
  });
});
