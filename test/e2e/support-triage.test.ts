import { readFileSync } from 'node:fs';
import { REPO_ROOT } from '@pipewright/cli';
import { waitFor } from '@pipewright/devstack';
import { PipewrightClient } from '@pipewright/sdk';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { supportTriage } from '../../examples/sdk/src/support-triage.js';
import { EventLog } from '../resilience/support.js';
import { DevProcess } from '../support/dev-process.js';

const LINES = [
  { sku: 'mug', description: 'Stoneware mug', qty: 5, unitCents: 2500 },
  { sku: 'saucer', description: 'Stoneware saucer', qty: 5, unitCents: 900 },
  { sku: 'spoon', description: 'Tea spoon', qty: 2, unitCents: 400 },
];
const REFUND = { ticket: { subject: 'Broken mug', body: 'One of the five mugs of order o-1002 arrived broken.', customer: 'alan@example.com' }, lines: LINES };
const PARCEL = { ticket: { subject: 'Where is my parcel?', body: 'Order o-1001 has not arrived yet.', customer: 'grace@example.com' }, lines: LINES };

/**
 * The support-triage pipeline (issue 14's "done when") on `pipewright dev`, with no API key: submitted
 * as written with the SDK, through the SDK's client; the agent calls `lookup-order`, a tool that
 * registered itself (its schema appears nowhere in the pipeline); a map judges each order line; the
 * refund waits for a person, who approves it. The YAML form of the same pipeline, submitted with the
 * CLI, ends early at its `end` step when the ticket is not a refund.
 */
describe('example: support triage (SDK and YAML) on `pipewright dev`', () => {
  let dev: DevProcess;
  let events: EventLog;
  let client: PipewrightClient;

  beforeAll(async () => {
    dev = await DevProcess.start();
    events = await EventLog.start(dev.adminOptions());
    client = new PipewrightClient({ baseUrl: dev.banner.consoleUrl, token: dev.banner.consoleToken });
  });
  afterAll(async () => {
    await events?.close();
    await dev?.stop();
  });

  it('the pipeline names its tool without a schema', () => {
    const yaml = parse(readFileSync(`${REPO_ROOT}examples/pipelines/support-triage.yaml`, 'utf8')) as { tools?: Record<string, Record<string, unknown>> };
    expect(Object.keys(yaml.tools ?? {})).toEqual(['lookup-order']);
    expect(yaml.tools?.['lookup-order']?.['input']).toBeUndefined();
    expect(supportTriage.toSpec().tools?.['lookup-order']).toEqual({});
  });

  it('a refund: triage, the registered tool, a map over the order lines, a refund approved by a person', async () => {
    const runId = await client.submit(supportTriage, REFUND, { labels: { example: 'support-triage' } });

    const requested = await waitFor('the refund to wait for approval', () => events.events(runId).find((e) => e.type === 'approval.requested'), { timeoutMs: 90_000 });
    expect(requested).toMatchObject({ stepId: 'refund', action: { kind: 'step' } });
    const evs = events.events(runId);
    // the agent called the tool that registered itself, and the run kept the schema it registered
    expect(evs.filter((e) => e.type === 'step.completed' && e.task === 'tool').map((e) => (e.type === 'step.completed' ? e.model.model : ''))).toEqual(['lookup-order']);
    // one item per order line, each its own step
    const items = evs.flatMap((e) => (e.type === 'step.dispatched' && e.stepId.startsWith('lines__') ? [e.stepId] : []));
    expect(new Set(items)).toEqual(new Set(['lines__0', 'lines__1', 'lines__2']));

    const detail = await client.get(runId);
    expect(detail.stepList?.find((s) => s.id === 'lines')).toMatchObject({ kind: 'map', status: 'succeeded', items: { total: 3, succeeded: 3, running: 0, failed: 0 } });
    expect(detail.stepList?.find((s) => s.id === 'not-a-refund')).toMatchObject({ status: 'skipped', skipReason: expect.any(String) });

    const approvalId = requested && 'approvalId' in requested ? String(requested.approvalId) : '';
    const approved = await dev.api('POST', `/api/approvals/${encodeURIComponent(approvalId)}/approve`, { comment: 'one mug, fine' });
    expect(approved.status).toBe(200);

    const out = await client.result(runId, { timeoutMs: 90_000 });
    expect(out).toEqual({ orderId: 'o-1002', cents: 2500, reply: expect.stringContaining('25.00 USD') });
    const finished = events.finished(runId);
    expect(finished).toMatchObject({ status: 'succeeded' });
    expect(finished && 'costUsd' in finished ? finished.costUsd : -1).toBeLessThanOrEqual(1); // budget.maxUsd
  });

  it('not a refund: the YAML form ends at its end step with the triage as the output', async () => {
    const submitted = await dev.cli('submit', 'examples/pipelines/support-triage.yaml', '--input', JSON.stringify(PARCEL));
    const runId = /submitted run (\S+)/.exec(submitted.stdout)?.[1];
    if (!runId) throw new Error(`no run id in: ${submitted.stdout}`);
    const end = await waitFor('the run to finish', () => events.finished(runId), { timeoutMs: 90_000 });
    expect(end).toMatchObject({ status: 'succeeded', output: { category: 'shipping', priority: 'normal', orderId: 'o-1001' } });
    const dispatched = events.events(runId).flatMap((e) => (e.type === 'step.dispatched' ? [e.stepId] : []));
    expect(dispatched).toEqual(['triage']);
    const detail = await client.get(runId);
    for (const id of ['lookup', 'lines', 'refund']) expect(detail.stepList?.find((s) => s.id === id)?.status).toBe('skipped');
  });
});
