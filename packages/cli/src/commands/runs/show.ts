import type { Command } from 'commander';
import type { Ctx } from '../../cli/context.js';
import { valueArgument, type ConnectionFlags } from '../../cli/options.js';
import { runId } from '../../cli/values.js';
import { renderRun } from '../../render/run.js';
import { consoleCommand, consoleFor } from './console.js';

/** `runs show <id>`: the run with its steps, outputs, result, cost, approvals, decision trail and trace id. */
export function registerShow(runs: Command, ctx: Ctx): void {
  consoleCommand(runs, 'show', 'a run: its steps (state, attempts, model or tool, tokens, cost, output), result, cost, approvals, decision trail and trace id')
    .addArgument(valueArgument('<runId>', 'the run', runId))
    .action(async (id: string, o: ConnectionFlags & { json?: boolean }) => {
      const run = await consoleFor(ctx, o).get(id);
      if (o.json) ctx.json(run);
      else ctx.print(renderRun(run, ctx.style));
    });
}
