import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalStack } from '@pipewright/cli';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserMissing, CHROMIUM, launchHeadless } from '../../approver/test/chromium.js';
import { Api } from '../../../test/console/support.js';

if (browserMissing) console.warn(`skipping the dashboard browser test: ${CHROMIUM} is missing (apt-get install -y chromium)`);

/** Where the page screenshots go; `PW_SCREENSHOT_DIR=docs/images` refreshes the committed ones. */
const SHOTS = process.env['PW_SCREENSHOT_DIR'] ?? join(tmpdir(), 'pipewright-dashboard');
const JAEGER_UI = 'http://127.0.0.1:16686';
const BATCH = `nightly-${Date.now().toString(36)}`;
const FAILING = 'night-3';
const EVIL = '<script>window.__pwned = 1</script>';
/** How long a page may take to show something: long, because other tests may load the machine. */
const PAGE_WAIT_MS = 30_000;

/** A whole test's bound: generous, as every wait inside it is a condition with its own deadline. */
const TEST_MS = 300_000;

/** Waits for what a page shows, by condition, within a deadline (expect.poll's own default is one second). */
const poll = <T>(read: () => Promise<T>, timeout = PAGE_WAIT_MS) => expect.poll(read, { timeout, interval: 100 });

/** s1 → s2 → s3; s2 has an output schema and no retry, so a broken answer fails the run at once. */
const pipeline = {
  name: 'nightly-digest',
  defaults: { model: 'sim-small', maxOutputTokens: 64 },
  input: { type: 'object', properties: { topic: { type: 'string' } }, required: ['topic'] },
  steps: [
    { id: 'outline', prompt: 'Outline {{input.topic}}' },
    { id: 'facts', needs: ['outline'], prompt: 'Facts for {{steps.outline.output}}', output: { type: 'object', properties: { fact: { type: 'string' } }, required: ['fact'] }, retry: { maxAttempts: 1 } },
    { id: 'digest', needs: ['facts'], prompt: 'Digest of {{steps.facts.output.fact}}' },
  ],
};

/**
 * The dashboard on a real local stack (nats-server, simulator, planner, executor, budget, console as
 * processes), used by a person in headless Chromium: sign in, filter a batch by its label, see its
 * progress, open the run that failed, resume it after the provider is mended, confirm, and watch it
 * succeed without reloading. A read-only person sees no buttons and cannot post; a form without its
 * CSRF token is refused; a model's `<script>` output is shown as text.
 */
describe.skipIf(browserMissing)('the runs dashboard in a real browser', () => {
  let stack: LocalStack;
  let api: Api;
  let base: string;
  let browser: BrowserContext;
  let closeBrowser: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    stack = await LocalStack.start({
      services: ['planner', 'executor', 'budget'],
      // every answer for night-3's `facts` breaks its schema (until the test mends the provider); night-2's outline is hostile
      sim: { scripts: [{ match: { key: `${FAILING}:facts` }, fault: 'schema-break' }, { match: { key: 'night-2:outline' }, reply: { content: EVIL } }] },
      env: { PW_JAEGER_UI_URL: JAEGER_UI },
    });
    // The console opens the run store read-only: it starts once the planner has made the store.
    await stack.startService('console');
    api = Api.of(stack);
    base = api.base.replace(/\/api\/v1$/, '');
    ({ browser, close: closeBrowser } = await launchHeadless('pw-chromium-dash-'));
  });
  afterAll(async () => {
    await closeBrowser?.();
    await stack?.stop();
  });

  it('a person filters a batch, opens the failed run, resumes it, and sees it succeed', async () => {
    for (const n of [1, 2, 3, 4]) {
      const r = await api.post('/runs', { runId: `night-${n}`, pipeline, input: { topic: `topic ${n}` }, labels: { batch: BATCH, team: `o"reilly` } });
      expect(r.status).toBe(202);
    }
    for (const n of [1, 2, 4]) await api.until(`night-${n}`, ['succeeded']);
    await api.until(FAILING, ['failed']);

    const page = await browser.newPage();
    page.setDefaultTimeout(PAGE_WAIT_MS);
    // the screenshots are of whole pages: a short window keeps short pages short
    await page.setViewportSize({ width: 1100, height: 760 });
    const problems: string[] = [];
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    page.on('pageerror', (e) => problems.push(e.message));

    // every page needs a session: the runs list sends a stranger to sign in first
    await page.goto(`${base}/runs`);
    await poll(() => page.locator('h1').textContent()).toBe('Sign in');
    await page.getByLabel('API token').fill('not-a-valid-token-0123456789');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await poll(() => page.locator('.error').textContent()).toContain('That token is not valid.');
    await page.getByLabel('API token').fill(api.operateToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await poll(() => page.locator('.who').textContent()).toContain('Signed in as dev');
    expect(problems.splice(0)).toEqual(['Failed to load resource: the server responded with a status of 401 (Unauthorized)']);

    // filter by the batch's label: its four runs, each linking to its page
    await page.locator('input[name="label"]').first().fill(`batch=${BATCH}`);
    await page.getByRole('button', { name: 'Filter' }).click();
    await poll(() => page.locator('#runs-body tr.row').count()).toBe(4);
    expect(new URL(page.url()).searchParams.getAll('label')).toEqual([`batch=${BATCH}`]);
    expect(await page.locator(`#run-${FAILING} .status`).textContent()).toBe('failed');
    expect(await page.locator('#run-night-1 .labels').textContent()).toContain(`team=o"reilly`);
    await poll(() => page.locator('#live').textContent()).toBe('live');

    // live: a run submitted now appears in the open list without a reload
    expect((await api.post('/runs', { runId: 'night-5', pipeline, input: { topic: 'late' }, labels: { batch: BATCH } })).status).toBe(202);
    await poll(() => page.locator('#run-night-5 .status').textContent(), 60_000).toBe('succeeded');
    await page.screenshot({ path: join(SHOTS, 'dashboard-runs.png'), fullPage: true });

    // the batch's progress: counts by status, cost so far, the failure linking to its run
    await page.getByRole('link', { name: /Batch progress of/ }).click();
    await poll(() => page.locator('#batch-total').textContent()).toBe('5');
    expect(await page.locator('td[data-status="succeeded"]').textContent()).toBe('4');
    expect(await page.locator('td[data-status="failed"]').textContent()).toBe('1');
    expect(await page.locator('#batch-cost').textContent()).toMatch(/^\$0\.\d+$/);
    expect(await page.locator('table.failures tbody tr').count()).toBe(1);
    await page.screenshot({ path: join(SHOTS, 'dashboard-batch.png'), fullPage: true });

    // the failed run: its DAG, the failed step with its error, the decision trail, the trace
    await page.locator('table.failures').getByRole('link', { name: FAILING }).click();
    await poll(() => page.locator('.run-head .status').textContent()).toBe('failed');
    expect(await page.locator('svg.dag a.node').count()).toBe(3);
    expect(await page.locator('svg.dag path.edge').count()).toBe(2);
    expect(await page.locator('svg.dag a.node.st-failed title').textContent()).toContain('facts');
    expect(await page.locator('#step-facts .step-error').textContent()).toContain('output_invalid');
    expect(await page.locator('#step-outline .facts').textContent()).toContain('default/sim-small');
    expect(await page.locator('table.decisions').textContent()).toContain('step facts failed');
    const trace = await page.getByRole('link', { name: /open in Jaeger/ }).getAttribute('href');
    expect(trace).toMatch(new RegExp(`^${JAEGER_UI}/trace/[0-9a-f]{32}$`));
    await page.screenshot({ path: join(SHOTS, 'dashboard-run.png'), fullPage: true });

    // resume, with a confirmation step; the provider is mended first
    await page.getByRole('link', { name: 'Resume…' }).click();
    await poll(() => page.locator('h1').textContent()).toBe('Resume this run?');
    expect(await page.locator('.confirm').textContent()).toContain('these run again: facts, digest');
    await page.screenshot({ path: join(SHOTS, 'dashboard-confirm.png'), fullPage: true });
    await stack.sim.setConfig({});
    await page.getByLabel(/^Reason/).fill('the provider is mended');
    await page.getByRole('button', { name: 'Yes, resume the run' }).click();
    await poll(() => page.locator('.notice').textContent()).toContain('Resume requested');
    // the notice shows before the redirected page's own `load` fires (its script and style still loading)
    await page.waitForLoadState('load');

    // the page follows the run as it goes on: no reload
    const loads: string[] = [];
    page.on('load', () => loads.push(page.url()));
    await poll(() => page.locator('.run-head .status').textContent(), 60_000).toBe('succeeded');
    expect(loads).toEqual([]);
    expect(await page.locator('svg.dag a.node.st-succeeded').count()).toBe(3);
    expect(await page.locator('table.decisions').textContent()).toContain('the provider is mended');
    await page.screenshot({ path: join(tmpdir(), 'pipewright-dashboard-resumed.png'), fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  }, TEST_MS);

  it('a model’s <script> output is text; a form without its CSRF token is refused; a read-only person cannot operate', async () => {
    const page = await signedIn(api.operateToken);
    await page.goto(`${base}/runs/night-2`);
    await page.locator('#out-outline summary').click();
    expect(await page.locator('#out-outline pre.json').textContent()).toContain(EVIL);
    expect(await page.evaluate(() => (window as { __pwned?: number }).__pwned)).toBeUndefined();
    const noCsrf = await page.request.post(`${base}/runs/night-2/rerun`, { form: { fromStep: 'digest' }, maxRedirects: 0 });
    expect(noCsrf.status()).toBe(403);
    await page.close();

    const reader = await signedIn(api.readToken);
    await reader.goto(`${base}/runs/${FAILING}`);
    expect(await reader.locator('.who').textContent()).toContain('read');
    expect(await reader.locator('.run-head .actions').count()).toBe(0);
    expect(await reader.getByRole('link', { name: /Re-run|Resume|Cancel/ }).count()).toBe(0);
    const csrf = await reader.locator('input[name="_csrf"]').first().inputValue();
    const refused = await reader.request.post(`${base}/runs/${FAILING}/rerun`, { form: { _csrf: csrf, fromStep: 'digest' }, maxRedirects: 0 });
    expect(refused.status()).toBe(403);
    expect(await refused.text()).toContain('may read runs but not change them');
    await reader.close();
    const runs = await api.get<{ runs: { runId: string }[] }>(`/runs?label=batch%3D${BATCH}`);
    expect(runs.body.runs).toHaveLength(5);
  }, TEST_MS);

  /** A fresh browser profile signed in with `token` (the operate and read people do not share cookies). */
  async function signedIn(token: string): Promise<Page> {
    const ctx = await browser.browser()!.newContext();
    const page = await ctx.newPage();
    page.setDefaultTimeout(PAGE_WAIT_MS);
    page.on('close', () => void ctx.close());
    await page.goto(`${base}/login`);
    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await poll(() => page.locator('h1').textContent()).toMatch(/^Runs/);
    return page;
  }
});
