import { randomBytes } from 'node:crypto';
import type { JetStreamClient } from '@nats-io/jetstream';
import { checkPipeline, checkRunInput, msgIds, requestDigest, RunRequest, SCHEMA_VERSION, subjects, type ValidationIssue } from '@pipewright/contracts';
import { publishJson } from '@pipewright/kit';
import type { Command } from 'commander';
import type { Ctx } from '../cli/context.js';
import { UsageError } from '../cli/errors.js';
import { addBusOptions, configWith, jsonOption, valueOption, type ConnectionFlags } from '../cli/options.js';
import { duration, label, runId } from '../cli/values.js';
import { withBus } from '../connect.js';
import { readInput, readPipelineFile } from '../pipeline-file.js';
import { follow } from './follow.js';

/** The pipeline or the input does not pass the contracts' checks: nothing was sent (exit 2). */
export class SpecError extends UsageError {
  override readonly name: string = 'SpecError';
  constructor(readonly issues: ValidationIssue[]) {
    super(
      'the run request is invalid',
      issues.map((i) => `${i.path}: ${i.message}`),
    );
  }
}

/** A run id that sorts by time: `r-<base36 ms>-<random>`. */
export function newRunId(): string {
  return `r-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

export interface SubmitOptions {
  runId?: string;
  tenant?: string;
  labels?: Record<string, string>;
}

/**
 * A run request checked locally, as the planner will check it again (the bus is open to any client):
 * an invalid pipeline or input is a SpecError naming each bad field, before anything connects.
 */
export function runRequest(pipeline: unknown, input: Record<string, unknown>, opts: SubmitOptions = {}): RunRequest & { runId: string } {
  const checked = checkPipeline(pipeline, ['pipeline']);
  if (!checked.ok) throw new SpecError(checked.issues);
  const inputIssues = checkRunInput(checked.spec, input, 'input');
  if (inputIssues.length > 0) throw new SpecError(inputIssues);
  const parsed = RunRequest.safeParse({ schemaVersion: SCHEMA_VERSION, runId: opts.runId ?? newRunId(), pipeline, input, ...(opts.tenant ? { tenant: opts.tenant } : {}), ...(opts.labels ? { labels: opts.labels } : {}) });
  if (!parsed.success) throw new SpecError(parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })));
  return { ...parsed.data, runId: parsed.data.runId ?? newRunId() }; // always given above; the schema lets other clients leave it out
}

/**
 * Publishes a run request to `pw.runs.submit`. The message id carries the request's digest: a retried
 * submit is one run, and the same run id with another request is not deduplicated away, so the
 * planner can refuse it (a conflict).
 */
export async function publishRunRequest(js: JetStreamClient, request: RunRequest & { runId: string }): Promise<string> {
  await publishJson(js, subjects.runSubmit, request, { msgId: msgIds.submit(request.runId, requestDigest(request)) });
  return request.runId;
}

/** Checks a run request locally and publishes it; resolves with its run id. */
export function submitRun(js: JetStreamClient, pipeline: unknown, input: Record<string, unknown>, opts: SubmitOptions = {}): Promise<string> {
  return publishRunRequest(js, runRequest(pipeline, input, opts));
}

interface SubmitFlags extends ConnectionFlags {
  input?: string;
  runId?: string;
  tenant?: string;
  label?: Record<string, string>;
  watch?: boolean;
  timeout?: number;
  json?: boolean;
}

/** `pipewright submit <pipeline>`: over the bus, as any NATS client may. */
export function registerSubmitCommand(program: Command, ctx: Ctx): void {
  const cmd = program
    .command('submit')
    .description('submit a run of a pipeline (YAML or JSON) over NATS')
    .argument('<pipeline>', 'pipeline file')
    .option('-i, --input <json|@file>', 'run input: inline JSON or @file.json')
    .addOption(valueOption('--run-id <id>', 'run id (makes the submission idempotent)', runId))
    .option('--tenant <tenant>', 'tenant the run belongs to')
    .addOption(valueOption('--label <key=value>', 'a label of the run (repeatable)', label))
    .option('-w, --watch', 'watch the run until it finishes; exit code 1 unless it succeeds')
    .addOption(valueOption('--timeout <ms|30s>', 'with --watch: stop waiting after this long (exit 5)', duration))
    .addOption(jsonOption(true));
  addBusOptions(cmd).action(async (file: string, o: SubmitFlags) => {
    const request = runRequest(readPipelineFile(file), readInput(o.input), { ...(o.runId ? { runId: o.runId } : {}), ...(o.tenant ? { tenant: o.tenant } : {}), ...(o.label ? { labels: o.label } : {}) });
    await withBus(configWith(ctx.env, o), async (bus) => {
      const id = await publishRunRequest(bus.js, request);
      // --json --watch is a stream of events (run.started names the run); --json alone is one document.
      if (o.json && !o.watch) ctx.json({ runId: id });
      if (!o.json) ctx.print(`submitted run ${id}`);
      if (o.watch) await follow(ctx, bus.js, id, { ...(o.json ? { json: true } : {}), ...(o.timeout !== undefined ? { timeoutMs: o.timeout } : {}) });
    });
  });
}
