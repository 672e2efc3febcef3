import type { JetStreamClient } from '@nats-io/jetstream';
import type { RunEvent } from '@pipewright/contracts';
import type { Command } from 'commander';
import type { Ctx } from '../cli/context.js';
import { EXIT } from '../cli/exit-codes.js';
import { addBusOptions, configWith, jsonOption, valueArgument, valueOption, type ConnectionFlags } from '../cli/options.js';
import { duration, runId } from '../cli/values.js';
import { withBus } from '../connect.js';
import { EventRenderer } from '../render/events.js';
import { FIRST_EVENT_WAIT_MS, watchRun } from './watch.js';

export interface FollowOptions {
  json?: boolean;
  timeoutMs?: number;
  /** The run may not exist (`watch <id>`): say so when it stays silent, rather than wait. */
  mayBeUnknown?: boolean;
  /** Report from the first event this accepts. */
  from?: (e: RunEvent) => boolean;
}

/**
 * Prints a run's events until it ends (text, or JSON lines with `--json`) and sets the exit code: 0 when
 * it succeeded, 1 otherwise. Used by `watch`, `submit --watch` and `runs resume|rerun --watch`.
 */
export async function follow(ctx: Ctx, js: JetStreamClient, runId: string, o: FollowOptions): Promise<void> {
  const renderer = new EventRenderer(ctx.style);
  const firstEventMs = o.mayBeUnknown ? Math.min(FIRST_EVENT_WAIT_MS, o.timeoutMs ?? FIRST_EVENT_WAIT_MS) : undefined;
  const end = await watchRun(js, runId, (e) => (o.json ? ctx.jsonLine(e) : ctx.print(renderer.render(e))), {
    ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
    ...(firstEventMs !== undefined ? { firstEventMs } : {}),
    ...(o.from ? { from: o.from } : {}),
  });
  ctx.exitCode = end.type === 'run.finished' && end.status === 'succeeded' ? EXIT.ok : EXIT.notSucceeded;
}

/** `pipewright watch <runId>`: a run's events from its start, live until it ends. */
export function registerWatchCommand(program: Command, ctx: Ctx): void {
  const cmd = program
    .command('watch')
    .description(`show a run's events from its start until it finishes; exit 0 if it succeeded, 1 if not, 3 if there is no such run (no event within ${FIRST_EVENT_WAIT_MS / 1000} s)`)
    .addArgument(valueArgument('<runId>', 'the run', runId))
    .addOption(valueOption('--timeout <ms|30s>', 'stop waiting after this long (exit 5)', duration))
    .addOption(jsonOption(true));
  addBusOptions(cmd).action(async (id: string, o: ConnectionFlags & { timeout?: number; json?: boolean }) => {
    await withBus(configWith(ctx.env, o), (bus) => follow(ctx, bus.js, id, { mayBeUnknown: true, ...(o.json ? { json: true } : {}), ...(o.timeout !== undefined ? { timeoutMs: o.timeout } : {}) }));
  });
}
