import type { Hono } from 'hono';
import { RunId, StepId } from '@pipewright/contracts';
import type { Dashboard, DashEnv } from './context.js';
import { readFilters, readLabels } from './filters.js';
import { batchPage } from './views/batch.js';
import { jsonPage } from './views/json.js';
import { runPage } from './views/run.js';
import { runsPage } from './views/runs.js';

/** What the run page says after an operation (`?done=`). */
const NOTICES: Record<string, string> = {
  cancel: 'Cancel requested: running steps stop and the run ends as cancelled.',
  resume: 'Resume requested: the run goes on from where it stopped.',
  signal: 'Signal sent: a step waiting for it takes it (the decision trail says what it did).',
  rerun: 'Re-run started from the chosen step; the steps before it reuse the source run’s outputs.',
};


/** The pages: the runs list, a batch's progress, a run, and all of a value the run page cut short. */
export function pageRoutes(app: Hono<DashEnv>, d: Dashboard): void {
  app.get('/', (c) => c.redirect('/runs', 302));

  app.get('/runs', d.signedIn, (c) => {
    const now = Date.now();
    const read = readFilters(new URL(c.req.url).searchParams, now);
    const viewer = c.get('viewer');
    if (!read.ok) return d.page(c, runsPage({ viewer, filters: read.filters, runs: [], problems: read.problems, now }), 400);
    const page = d.ports.model.list(read.query);
    if (!page.ok) return d.page(c, runsPage({ viewer, filters: read.filters, runs: [], problems: [page.error.message], now }), page.status === 503 ? 503 : 400);
    return d.page(c, runsPage({ viewer, filters: read.filters, runs: page.value.runs, ...(page.value.nextCursor ? { nextCursor: page.value.nextCursor } : {}), problems: [], now }));
  });

  app.get('/batch', d.signedIn, (c) => {
    const now = Date.now();
    const texts = new URL(c.req.url).searchParams.getAll('label').map((l) => l.trim()).filter((l) => l !== '');
    const problems: string[] = [];
    const labels = readLabels(texts, problems);
    const viewer = c.get('viewer');
    if (problems.length > 0) return d.page(c, batchPage({ viewer, labelTexts: texts, problems, now }), 400);
    if (Object.keys(labels).length === 0) return d.page(c, batchPage({ viewer, labelTexts: [], problems: [], now }));
    return d.page(c, batchPage({ viewer, labelTexts: texts, stats: d.ports.model.batch(labels), problems: [], now }));
  });

  app.get('/runs/:runId', d.signedIn, async (c) => {
    const viewer = c.get('viewer');
    const run = await loadRun(d, c.req.param('runId'));
    if (!run) return d.refuse(c, 404, 'No such run', `There is no run ${c.req.param('runId')}.`, viewer);
    const notice = NOTICES[c.req.query('done') ?? ''];
    return d.page(c, runPage({ viewer, run, ...d.links, ...(notice ? { notice } : {}), now: Date.now() }));
  });

  app.get('/runs/:runId/json/:part{input|output|partial}', d.signedIn, async (c) => {
    const run = await loadRun(d, c.req.param('runId'));
    if (!run) return d.refuse(c, 404, 'No such run', `There is no run ${c.req.param('runId')}.`, c.get('viewer'));
    const part = c.req.param('part') as 'input' | 'output' | 'partial';
    return d.page(c, jsonPage(c.get('viewer'), run.runId, `The run's ${part}`, run[part]));
  });

  app.get('/runs/:runId/json/steps/:stepId', d.signedIn, async (c) => {
    const run = await loadRun(d, c.req.param('runId'));
    const stepId = StepId.safeParse(c.req.param('stepId'));
    const step = stepId.success ? run?.stepList.find((s) => s.id === stepId.data) : undefined;
    if (!run || !step) return d.refuse(c, 404, 'Not found', 'There is no such run or step.', c.get('viewer'));
    return d.page(c, jsonPage(c.get('viewer'), run.runId, `Output of step ${step.id}`, step.output));
  });
}

/** A run by an id from the URL: one that is not a valid run id is no run (and never reaches the store). */
export async function loadRun(d: Dashboard, id: string) {
  const runId = RunId.safeParse(id);
  return runId.success ? d.ports.reader.get(runId.data) : undefined;
}
