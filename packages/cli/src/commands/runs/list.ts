import type { RunListPage, RunStatus, RunSummary } from '@pipewright/contracts';
import type { Command } from 'commander';
import type { Ctx } from '../../cli/context.js';
import { UnavailableError } from '../../cli/errors.js';
import { valueOption, type ConnectionFlags } from '../../cli/options.js';
import { label, MAX_PAGE_SIZE, pointInTime, positiveInt, statuses } from '../../cli/values.js';
import type { ConsoleClient, ListFilter } from '../../console/client.js';
import { renderRunTable } from '../../render/list.js';
import { consoleCommand, consoleFor } from './console.js';

interface ListFlags extends ConnectionFlags {
  status?: RunStatus[];
  pipeline?: string;
  label?: Record<string, string>;
  since?: string;
  until?: string;
  limit: number;
  cursor?: string;
  all?: boolean;
  json?: boolean;
}

/** `runs list`: a page of runs from the console's index, newest first; `--all` follows the cursor to the end. */
export function registerList(runs: Command, ctx: Ctx): void {
  consoleCommand(runs, 'list', 'runs, newest first, from the console index (filters combine: all must match)')
    .addOption(valueOption('--status <status[,status]>', 'only runs in these statuses (comma-separated or repeated)', statuses))
    .option('--pipeline <name>', 'only runs of this pipeline')
    .addOption(valueOption('--label <key=value>', 'only runs carrying this label (repeatable)', label))
    .addOption(valueOption('--since <time>', 'created at or after: ISO time, a date, or an age (30m, 2h, 1d)', pointInTime()))
    .addOption(valueOption('--until <time>', 'created before: ISO time, a date, or an age', pointInTime()))
    .addOption(valueOption('--limit <n>', `runs per page (at most ${MAX_PAGE_SIZE})`, positiveInt(MAX_PAGE_SIZE)).default(50))
    .option('--cursor <cursor>', 'the page after the one that printed this cursor')
    .option('--all', 'every page, following the cursor to the end')
    .action(async (o: ListFlags) => {
      const client = consoleFor(ctx, o);
      const filter: ListFilter = {
        ...(o.status ? { status: o.status } : {}),
        ...(o.pipeline !== undefined ? { pipeline: o.pipeline } : {}),
        ...(o.label ? { labels: o.label } : {}),
        ...(o.since !== undefined ? { since: o.since } : {}),
        ...(o.until !== undefined ? { until: o.until } : {}),
        limit: o.limit,
        ...(o.cursor !== undefined ? { cursor: o.cursor } : {}),
      };
      const page = o.all ? await everyPage(client, filter) : await client.list(filter);
      if (o.json) return ctx.json(page);
      ctx.print(page.runs.length === 0 ? 'no runs' : renderRunTable(page.runs, ctx.style));
      if (page.nextCursor !== undefined) ctx.note(`more runs: --cursor ${page.nextCursor} (or --all)`);
    });
}

/** Every page from `filter`'s on; a cursor seen twice is the console's fault, and would loop for ever. */
export async function everyPage(client: ConsoleClient, filter: ListFilter): Promise<RunListPage> {
  const runs: RunSummary[] = [];
  const seen = new Set<string>();
  let cursor = filter.cursor;
  for (;;) {
    const page = await client.list({ ...filter, ...(cursor !== undefined ? { cursor } : {}) });
    runs.push(...page.runs);
    if (page.nextCursor === undefined || page.runs.length === 0) return { runs };
    if (seen.has(page.nextCursor)) throw new UnavailableError('the console answered the same cursor twice while paging');
    seen.add(page.nextCursor);
    cursor = page.nextCursor;
  }
}
