import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserMissing, CHROMIUM, launchHeadless } from './chromium.js';
import { ApproverHarness, approvalRequest, TOKENS } from '../../../test/approver/support/harness.js';

const SCREENSHOT = join(tmpdir(), 'pipewright-inbox.png');
if (browserMissing) console.warn(`skipping the inbox browser test: ${CHROMIUM} is missing (apt-get install -y chromium)`);

/**
 * A person in headless Chromium: signs in with a token, reads the inbox, edits the proposed
 * arguments (a wrong edit first), and approves. The planner side sees the edited arguments, once.
 */
describe.skipIf(browserMissing)('web inbox in a real browser', () => {
  let h: ApproverHarness;
  let browser: BrowserContext;
  let closeBrowser: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    h = await ApproverHarness.start({ env: { PW_JAEGER_UI_URL: 'http://127.0.0.1:16686' } });
    ({ browser, close: closeBrowser } = await launchHeadless('pw-chromium-'));
  });
  afterAll(async () => {
    await closeBrowser?.();
    await h?.stop();
  });

  it('sign in, edit the arguments (validated), approve: the decision carries the edit exactly once', async () => {
    await h.publishAndWait(approvalRequest({ runId: 'run-wire-transfer', stepId: 'pay', action: { kind: 'tool', tool: 'wire_transfer', arguments: { orderId: 'A-77', amountUsd: 480 } }, confidence: 0.41, reason: 'confidence 0.41 is below 0.7', timeoutMs: 3_600_000, onTimeout: 'escalate', escalation: { to: 'finance-leads' } }));
    const req = await h.publishAndWait(approvalRequest({ timeoutMs: 1_800_000 }));
    const page = await browser.newPage();
    page.setDefaultTimeout(10_000);

    await page.goto(`${h.apiUrl}/inbox`);
    await expect.poll(() => page.locator('h1').textContent()).toBe('Sign in');
    await page.getByLabel('API token').fill('not-a-valid-token-0123456789');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.locator('.error').textContent()).toContain('That token is not valid.');
    await page.getByLabel('API token').fill(TOKENS.carol);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.locator('h1').textContent()).toContain('Waiting for a decision');
    expect(await page.locator('.who').textContent()).toContain('Signed in as carol');

    const card = page.locator(`article[id="${req.approvalId}"]`);
    expect(await card.locator('.meta').textContent()).toContain(`run ${req.runId} (support-desk)`);
    expect(await card.textContent()).toContain(req.reasoning!);
    expect(await card.locator('.facts').textContent()).toMatch(/Model confidence\s*62%/);
    expect(await card.locator('.facts').textContent()).toContain('$0.0132');
    expect(await card.locator(`a[href="http://127.0.0.1:16686/trace/${req.traceId!}"]`).count()).toBe(1);
    expect(JSON.parse((await card.locator('pre.args').textContent())!)).toEqual(req.action.arguments);
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    // a wrong edit is refused by the server with the field named, and nothing is decided
    await card.getByText('Edit the arguments and approve').click();
    await card.locator('textarea[name="arguments"]').fill('{"orderId": "A-1001", "amountUsd": 900}');
    await card.getByRole('button', { name: 'Approve with these arguments' }).click();
    const errorCard = page.locator(`article[id="${req.approvalId}"]`);
    await expect.poll(() => errorCard.locator('ul.error').textContent()).toContain('arguments.amountUsd');
    expect(await errorCard.locator('textarea[name="arguments"]').inputValue()).toContain('900');
    await page.screenshot({ path: join(tmpdir(), 'pipewright-inbox-error.png'), fullPage: true });
    expect(h.eventsOf(req.approvalId)).toHaveLength(0);

    const edited = { orderId: 'A-1001', amountUsd: 60, note: 'partial refund agreed' };
    await errorCard.locator('textarea[name="arguments"]').fill(JSON.stringify(edited, null, 2));
    await errorCard.getByRole('button', { name: 'Approve with these arguments' }).click();
    await expect.poll(() => page.locator('.notice').textContent()).toBe(`Approved ${req.approvalId} with the edited arguments.`);
    expect(await page.locator(`article[id="${req.approvalId}"]`).count()).toBe(0);
    expect(await page.locator('table.recent').textContent()).toContain('carol (inbox)');

    const decision = await h.waitForDecision(req.approvalId);
    expect(decision).toMatchObject({ decision: 'edited', by: 'carol', via: 'inbox', arguments: edited });
    // the same form sent again (a double click that got through): answered with the stored decision
    const csrf = await page.locator('input[name="_csrf"]').first().inputValue();
    const again = await page.request.post(`${h.apiUrl}/inbox/approvals/${encodeURIComponent(req.approvalId)}/edit`, { form: { _csrf: csrf, arguments: JSON.stringify(edited) }, maxRedirects: 0 });
    expect(again.status()).toBe(303);
    expect(again.headers()['location']).toContain('done=unchanged');
    await new Promise((r) => setTimeout(r, 500));
    expect(h.eventsOf(req.approvalId, 'approval.decided')).toHaveLength(1);
    await page.goto(`${h.apiUrl}/inbox`);
    await page.screenshot({ path: join(tmpdir(), 'pipewright-inbox-after.png'), fullPage: true });
  });
});
