import { REPO_ROOT } from '@pipewright/cli';
import { waitFor } from '@pipewright/devstack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventLog } from '../resilience/support.js';
import { DevProcess } from '../support/dev-process.js';

const INPUT = { message: 'Order o-1002: one of the five mugs arrived broken.' };

/**
 * The README's walk-through "Try an agent with a tool and an approval", as a new user does it, with no
 * API key: `pipewright dev` (which runs the example tools and loads examples/pipelines/sim.yaml, the
 * simulated model's side of the conversation); `pipewright submit examples/pipelines/refund-agent.yaml`;
 * the agent looks the order up (a tool call that runs at once), proposes a refund, which waits for a
 * person; the person approves it through the approver's HTTP API; the refund runs, the agent answers,
 * and the run succeeds.
 */
describe('example: an agent with a tool and an approval, on `pipewright dev`', () => {
  let dev: DevProcess;
  let events: EventLog;

  beforeAll(async () => {
    dev = await DevProcess.start();
    events = await EventLog.start(dev.adminOptions());
  });
  afterAll(async () => {
    await events?.close();
    await dev?.stop();
  });

  it('loads the examples simulator configuration when none is given', () => {
    expect(dev.banner.simConfig).toBe(`${REPO_ROOT}examples/pipelines/sim.yaml`);
  });

  it('runs the refund agent: lookup, a refund held for approval, approved, answered', async () => {
    const submitted = await dev.cli('submit', 'examples/pipelines/refund-agent.yaml', '--input', JSON.stringify(INPUT));
    const runId = /submitted run (\S+)/.exec(submitted.stdout)?.[1];
    if (!runId) throw new Error(`no run id in: ${submitted.stdout}`);

    const requested = await waitFor('the refund to wait for approval', () => events.events(runId).find((e) => e.type === 'approval.requested'), { timeoutMs: 60_000 });
    expect(requested).toMatchObject({
      stepId: 'resolve',
      action: { kind: 'tool', tool: 'refund', arguments: { orderId: 'o-1002', cents: 2500, reason: 'one of five mugs arrived broken' } },
    });
    // the lookup ran at once, the refund has not run: it waits for a person
    const toolsRun = () => events.events(runId).flatMap((e) => (e.type === 'step.completed' && e.task === 'tool' ? [e.model.model] : []));
    expect(toolsRun()).toEqual(['lookup-order']);
    const approvalId = `${runId}:resolve:1:t2`;
    const pending = await dev.api('GET', `/api/approvals/${encodeURIComponent(approvalId)}`);
    expect(pending.status).toBe(200);
    expect(pending.json['approval']).toMatchObject({ status: 'pending', request: { reasoning: expect.stringContaining('one mug (25.00 USD)') } });
    // the inbox a person would open
    expect((await fetch(`${dev.banner.approverUrl}/inbox`, { signal: AbortSignal.timeout(10_000) })).status).toBeLessThan(400);

    const approved = await dev.api('POST', `/api/approvals/${encodeURIComponent(approvalId)}/approve`, { comment: 'one mug, fine' });
    expect(approved.status).toBe(200);

    const end = await waitFor('the run to finish', () => events.finished(runId), { timeoutMs: 60_000 });
    expect(end).toMatchObject({ status: 'succeeded', output: { reply: expect.stringContaining('refunded 25.00 USD') } });
    expect(events.events(runId).find((e) => e.type === 'approval.decided')).toMatchObject({ decision: 'approved', via: 'api' });
    expect(toolsRun()).toEqual(['lookup-order', 'refund']);

    // what the README's walk-through ends on: the console shows the finished run with its approval
    const detail = await waitFor('the console to show the run finished', async () => {
      const res = await fetch(`${dev.banner.consoleUrl}/api/v1/runs/${runId}`, { headers: { authorization: `Bearer ${dev.banner.consoleToken}` }, signal: AbortSignal.timeout(10_000) });
      const body = (await res.json()) as { status?: string; approvals?: { approvalId: string; status: string }[]; stepList?: { id: string; kind: string }[] };
      return body.status === 'succeeded' ? body : undefined;
    }, { timeoutMs: 30_000 });
    expect(detail.approvals).toEqual([expect.objectContaining({ approvalId, status: 'approved' })]);
    expect(detail.stepList).toEqual([expect.objectContaining({ id: 'resolve', kind: 'agent' })]);
    const page = await fetch(`${dev.banner.consoleUrl}/`, { redirect: 'manual', signal: AbortSignal.timeout(10_000) });
    expect([200, 302, 303]).toContain(page.status); // the dashboard answers (a sign-in first)
  });
});
