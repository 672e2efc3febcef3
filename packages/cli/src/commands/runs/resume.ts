import { RerunBody, ResumeBody } from '@pipewright/contracts';
import type { Command, Option } from 'commander';
import type { z } from 'zod';
import type { Ctx } from '../../cli/context.js';
import { UsageError } from '../../cli/errors.js';
import { configWith, valueArgument, valueOption, type ConnectionFlags } from '../../cli/options.js';
import { duration, label, positiveInt, positiveNumber, runId, stepId } from '../../cli/values.js';
import { withBus } from '../../connect.js';
import { follow, type FollowOptions } from '../follow.js';
import { consoleCommand, consoleFor } from './console.js';

interface TakeUpFlags extends ConnectionFlags {
  maxUsd?: number;
  maxTokens?: number;
  reason?: string;
  watch?: boolean;
  timeout?: number;
  json?: boolean;
}

/** The flags `resume` and `rerun` share: new spending limits, a reason, and watching the outcome. */
function takeUpCommand(runs: Command, name: string, description: string, limits: readonly Option[] = []): Command {
  const cmd = consoleCommand(runs, name, description, true)
    .addArgument(valueArgument('<runId>', 'the run', runId))
    .addOption(valueOption('--max-usd <usd>', 'a new USD limit for the run', positiveNumber))
    .addOption(valueOption('--max-tokens <n>', 'a new token limit for the run', positiveInt()));
  for (const o of limits) cmd.addOption(o);
  return cmd
    .option('--reason <text>', 'why, recorded on the run')
    .option('-w, --watch', 'watch the run until it finishes (over NATS); exit code 1 unless it succeeds')
    .addOption(valueOption('--timeout <ms|30s>', 'with --watch: stop waiting after this long (exit 5)', duration));
}

/** A body checked against its contract before it is sent: a bad combination is a usage error (exit 2). */
function checked<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  throw new UsageError(
    'the request is invalid',
    parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`),
  );
}

const budgetOf = (o: TakeUpFlags) => (o.maxUsd !== undefined || o.maxTokens !== undefined ? { budget: { ...(o.maxUsd !== undefined ? { maxUsd: o.maxUsd } : {}), ...(o.maxTokens !== undefined ? { maxTokens: o.maxTokens } : {}) } } : {});

async function watchIfAsked(ctx: Ctx, o: TakeUpFlags, id: string, from?: FollowOptions['from']): Promise<void> {
  if (!o.watch) return;
  await withBus(configWith(ctx.env, o), (bus) => follow(ctx, bus.js, id, { ...(o.json ? { json: true } : {}), ...(o.timeout !== undefined ? { timeoutMs: o.timeout } : {}), ...(from ? { from } : {}) }));
}

/** `runs resume <id>`: a stopped run goes on from where it stopped, with new limits if given. */
export function registerResume(runs: Command, ctx: Ctx): void {
  takeUpCommand(runs, 'resume', 'resume a stopped run (failed, timed out, out of budget, cancelled) from where it stopped: succeeded steps keep their outputs', [
    valueOption('--deadline-ms <ms|10m>', 'time the resumed run has, from now', duration),
    valueOption('--max-steps <n>', 'most step dispatches over the run’s whole life', positiveInt()),
  ]).action(async (id: string, o: TakeUpFlags & { deadlineMs?: number; maxSteps?: number }) => {
      const limits = o.deadlineMs !== undefined || o.maxSteps !== undefined ? { limits: { ...(o.deadlineMs !== undefined ? { deadlineMs: o.deadlineMs } : {}), ...(o.maxSteps !== undefined ? { maxSteps: o.maxSteps } : {}) } } : {};
      const body = checked(ResumeBody, { ...budgetOf(o), ...limits, ...(o.reason !== undefined ? { reason: o.reason } : {}) });
      const accepted = await consoleFor(ctx, o).resume(id, body);
      // --json --watch is the stream of the resumed run's events (run.resumed names the resume).
      if (o.json && !o.watch) ctx.json(accepted);
      if (!o.json) ctx.print(`resume of run ${id} requested (resume ${accepted.resumeId})`);
      await watchIfAsked(ctx, o, id, (e) => e.type === 'run.resumed' && e.resumeId === accepted.resumeId);
    });
}

/** `runs rerun <id> --from <step>`: a new run of the same pipeline and input, reusing the outputs before the step. */
export function registerRerun(runs: Command, ctx: Ctx): void {
  takeUpCommand(runs, 'rerun', 'a new run of the same pipeline and input that runs <step> and everything after it again, reusing the outputs of the steps before it')
    .addOption(valueOption('--from <step>', 'the step to run again from', stepId).makeOptionMandatory())
    .addOption(valueOption('--run-id <id>', "the new run's id (default: a fresh one)", runId))
    .addOption(valueOption('--label <key=value>', "a label of the new run (repeatable; default: the source run's labels)", label))
    .action(async (id: string, o: TakeUpFlags & { from: string; runId?: string; label?: Record<string, string> }) => {
      const body = checked(RerunBody, { fromStep: o.from, ...(o.runId !== undefined ? { runId: o.runId } : {}), ...budgetOf(o), ...(o.label ? { labels: o.label } : {}), ...(o.reason !== undefined ? { reason: o.reason } : {}) });
      const accepted = await consoleFor(ctx, o).rerun(id, body);
      if (o.json && !o.watch) ctx.json(accepted);
      if (!o.json) ctx.print(`re-run ${accepted.runId} of run ${id} from step ${o.from} requested`);
      await watchIfAsked(ctx, o, accepted.runId);
    });
}
