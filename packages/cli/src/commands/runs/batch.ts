import type { Command } from 'commander';
import type { Ctx } from '../../cli/context.js';
import { valueOption, type ConnectionFlags } from '../../cli/options.js';
import { label } from '../../cli/values.js';
import { renderBatch } from '../../render/list.js';
import { consoleCommand, consoleFor } from './console.js';

/** `runs batch --label k=v`: the progress of every run carrying the labels. */
export function registerBatch(runs: Command, ctx: Ctx): void {
  consoleCommand(runs, 'batch', 'progress of a batch (the runs carrying all the labels): counts by status, throughput, cost so far, failures')
    .addOption(valueOption('--label <key=value>', 'a label of the batch (repeatable)', label).makeOptionMandatory())
    .action(async (o: ConnectionFlags & { label: Record<string, string>; json?: boolean }) => {
      const stats = await consoleFor(ctx, o).batch(o.label);
      if (o.json) ctx.json(stats);
      else ctx.print(renderBatch(stats, ctx.style));
    });
}
