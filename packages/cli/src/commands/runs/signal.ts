import { SignalBody } from '@pipewright/contracts';
import type { Command } from 'commander';
import type { Ctx } from '../../cli/context.js';
import { UsageError } from '../../cli/errors.js';
import { valueArgument, valueOption, type ConnectionFlags } from '../../cli/options.js';
import { runId, signalId, signalName } from '../../cli/values.js';
import { readJsonArg } from '../../pipeline-file.js';
import { consoleCommand, consoleFor } from './console.js';

interface SignalFlags extends ConnectionFlags {
  payload?: string;
  id?: string;
  json?: boolean;
}

/** `runs signal <id> <name>`: sends a run the named signal its `signal` step waits for. */
export function registerSignal(runs: Command, ctx: Ctx): void {
  consoleCommand(runs, 'signal', 'send a run a named signal: the signal step waiting for it takes the payload as its output (or the run keeps it until one does)')
    .addArgument(valueArgument('<runId>', 'the run', runId))
    .addArgument(valueArgument('<name>', 'the signal name', signalName))
    .option('--payload <json|@file>', 'the payload: inline JSON or @file.json (default: null)')
    .addOption(valueOption('--id <signalId>', 'the signal id: the same id sent again is the same signal (default: a fresh one)', signalId))
    .action(async (id: string, name: string, o: SignalFlags) => {
      const parsed = SignalBody.safeParse({ ...(o.payload !== undefined ? { payload: readJsonArg(o.payload, '--payload') } : {}), ...(o.id !== undefined ? { signalId: o.id } : {}) });
      if (!parsed.success) throw new UsageError('the signal is invalid', parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`));
      const accepted = await consoleFor(ctx, o).signal(id, name, parsed.data);
      if (o.json) return ctx.json(accepted);
      ctx.print(`signal ${name} sent to run ${id} (signal ${accepted.signalId})`);
    });
}
