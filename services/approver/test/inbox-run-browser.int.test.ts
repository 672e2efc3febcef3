import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserMissing, CHROMIUM, launchHeadless } from './chromium.js';
import { TOKENS } from '../../../test/approver/support/harness.js';
import { ApprovalStack, refundPipeline, refundScript } from '../../../test/approver/support/planner-stack.js';

if (browserMissing) console.warn(`skipping the inbox-through-a-run browser test: ${CHROMIUM} is missing (apt-get install -y chromium)`);

/**
 * The done-when of human approvals, as a person does it: a real run's agent proposes a refund, the
 * planner holds it; a person opens the web inbox in headless Chromium, edits the arguments and
 * approves; the tool receives the edited arguments exactly once and the run finishes.
 */
describe.skipIf(browserMissing)('web inbox in a real browser, through a real run', () => {
  let s: ApprovalStack;
  let browser: BrowserContext;
  let closeBrowser: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    s = await ApprovalStack.start();
    ({ browser, close: closeBrowser } = await launchHeadless('pw-chromium-run-'));
  });
  afterAll(async () => {
    await closeBrowser?.();
    await s?.stop();
  });

  it('a person edits the held refund in the inbox and approves; the tool runs once with the edit', async () => {
    const runId = 'inbox-edit';
    const proposed = { orderId: 'A-9009', amountUsd: 450 };
    await s.stack.sim.setConfig(refundScript(runId, proposed, 'Part of your order was refunded.'));
    const run = await s.submit(refundPipeline('refunds'), { message: 'refund everything' }, runId);
    const approvalId = `${runId}:support:1:t1`;
    await s.pending(approvalId);

    const page = await browser.newPage();
    page.setDefaultTimeout(10_000);
    await page.goto(`${s.apiUrl}/inbox`);
    await page.getByLabel('API token').fill(TOKENS.carol);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.locator('h1').textContent()).toContain('Waiting for a decision');

    const card = page.locator(`article[id="${approvalId}"]`);
    expect(await card.locator('.meta').textContent()).toContain(`run ${runId} (refunds)`);
    expect(await card.textContent()).toContain('tool issue-refund needs approval (approval.tools)');
    expect(JSON.parse((await card.locator('pre.args').textContent())!)).toEqual(proposed);
    expect(s.refunds.filter((r) => r.key.startsWith(`${runId}:`))).toEqual([]);
    await page.screenshot({ path: join(tmpdir(), 'pipewright-inbox-run.png'), fullPage: true });

    const edited = { orderId: 'A-9009', amountUsd: 150, note: 'only the broken item' };
    await card.getByText('Edit the arguments and approve').click();
    await card.locator('textarea[name="arguments"]').fill(JSON.stringify(edited, null, 2));
    await card.getByRole('button', { name: 'Approve with these arguments' }).click();
    await expect.poll(() => page.locator('.notice').textContent()).toBe(`Approved ${approvalId} with the edited arguments.`);

    const end = await run.end;
    expect(end).toMatchObject({ type: 'run.finished', status: 'succeeded', output: { reply: 'Part of your order was refunded.' } });
    expect(s.refunds.filter((r) => r.key.startsWith(`${runId}:`))).toEqual([{ key: `${runId}:support:t1`, args: edited }]);
    expect(run.events.find((e) => e.type === 'approval.decided')).toMatchObject({ decision: 'edited', by: 'carol', via: 'inbox', arguments: edited });
  });
});
