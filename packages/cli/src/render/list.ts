import { TERMINAL_STATUSES, type BatchStats, type RunStatus, type RunSummary } from '@pipewright/contracts';
import { clean, type Style } from '../cli/io.js';
import { int, labelsText, statusText, usd, when } from './format.js';

const COLUMNS = ['RUN', 'STATUS', 'PIPELINE', 'STEPS', 'COST', 'CREATED', 'LABELS'] as const;

/** Runs as a table with a header; widths fit the page's longest value of each column. */
export function renderRunTable(runs: readonly RunSummary[], style: Style): string {
  const rows = runs.map((r) => [r.runId, r.status, clean(r.pipeline), `${r.steps.succeeded}/${r.steps.total}`, usd(r.costUsd), when(r.createdAt), labelsText(r.labels)]);
  const widths = COLUMNS.map((c, i) => Math.max(c.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: readonly string[], status?: string) =>
    cells
      .map((c, i) => (i === 1 && status !== undefined ? statusText(status, style, widths[i]) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [style.bold(line(COLUMNS)), ...rows.map((row) => line(row, row[1]))].join('\n');
}

/** `runs batch`: counts by status, progress, throughput, cost so far and the failures. */
export function renderBatch(b: BatchStats, style: Style): string {
  const finished = Object.entries(b.counts)
    .filter(([s]) => TERMINAL_STATUSES.has(s as RunStatus))
    .reduce((n, [, c]) => n + c, 0);
  const pct = b.total > 0 ? ` (${((finished / b.total) * 100).toFixed(1)} %)` : '';
  const counts = Object.entries(b.counts)
    .filter(([, c]) => c > 0)
    .map(([s, c]) => `${statusText(s, style)} ${int(c)}`);
  return [
    `batch ${labelsText(b.labels)}: ${int(b.total)} runs, ${int(finished)} finished${pct}`,
    `  ${counts.join('  ') || 'no runs'}`,
    `  throughput ${b.throughputPerMin.toFixed(1)} runs/min (last 5 min)  cost ${usd(b.costUsd)}  tokens ${int(b.totalTokens)}`,
    ...(b.firstCreatedAt ? [`  first created ${when(b.firstCreatedAt)}${b.lastFinishedAt ? `  last finished ${when(b.lastFinishedAt)}` : ''}`] : []),
    ...(b.failures.length > 0 ? [`failures (newest ${b.failures.length}):`, ...b.failures.map((f) => `  ${f.runId}  ${statusText(f.status, style)}  ${clean(f.reason ?? '')}`)] : []),
  ].join('\n');
}
