import type { Command } from 'commander';
import type { Ctx } from '../../cli/context.js';
import { UsageError } from '../../cli/errors.js';
import { valueArgument, valueOption, type ConnectionFlags } from '../../cli/options.js';
import { label, runId } from '../../cli/values.js';
import { consoleCommand, consoleFor } from './console.js';

interface CancelFlags extends ConnectionFlags {
  label?: Record<string, string>;
  reason?: string;
  json?: boolean;
}

/** `runs cancel <id>` or `runs cancel --label k=v`: running calls are aborted, nothing new starts. */
export function registerCancel(runs: Command, ctx: Ctx): void {
  consoleCommand(runs, 'cancel', 'cancel a run, or every unfinished run with the given labels: running calls are aborted, nothing new starts')
    .addArgument(valueArgument('[runId]', 'the run to cancel', runId))
    .addOption(valueOption('--label <key=value>', 'cancel every unfinished run carrying this label (repeatable; instead of a run id)', label))
    .option('--reason <text>', 'why, recorded on the run', 'cancelled with the CLI')
    .action(async (id: string | undefined, o: CancelFlags) => {
      if ((id === undefined) === (o.label === undefined)) throw new UsageError('give a run id or --label key=value, not both');
      const client = consoleFor(ctx, o);
      const accepted = id !== undefined ? await client.cancel(id, o.reason) : await client.cancelByLabels(o.label ?? {}, o.reason);
      if (o.json) return ctx.json(accepted);
      if (id !== undefined) return ctx.print(`cancel of run ${id} requested`);
      ctx.print(accepted.count === 0 ? 'no unfinished run has these labels' : `cancel requested for ${accepted.count} run(s):\n${accepted.runIds.join('\n')}`);
    });
}
