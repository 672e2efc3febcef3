import type { Command } from 'commander';
import type { Ctx } from '../../cli/context.js';
import { addBusOptions, addConsoleOptions, configWith, jsonOption, type ConnectionFlags } from '../../cli/options.js';
import { ConsoleClient } from '../../console/client.js';

/** A `runs` subcommand: it talks to the console (and to NATS with `busToo`, for `--watch`), and has `--json`. */
export function consoleCommand(runs: Command, name: string, description: string, busToo = false): Command {
  const cmd = runs.command(name).description(description).addOption(jsonOption());
  addConsoleOptions(cmd);
  return busToo ? addBusOptions(cmd) : cmd;
}

export function consoleFor(ctx: Ctx, flags: ConnectionFlags): ConsoleClient {
  return new ConsoleClient(configWith(ctx.env, flags));
}
