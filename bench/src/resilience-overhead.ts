import { pathToFileURL } from 'node:url';
import { REPO_ROOT, startSimProcess } from '@pipewright/cli';
import { StepCommand, type JsonSchemaDoc } from '@pipewright/contracts';
import { createLogger, startTracing } from '@pipewright/kit';
import { percentile, round } from './lib/stats.js';

/** At least this many calls of each kind, so that p99 rests on 50 samples. */
const MIN_CALLS = 5_000;
const WARMUP_CALLS = 500;
const SCHEMA: JsonSchemaDoc = { type: 'object', properties: { title: { type: 'string' }, score: { type: 'integer', minimum: 1, maximum: 10 } }, required: ['title', 'score'] };

/** The slice of @pipewright/executor this bench drives (loaded from its build, as LocalStack runs it). */
interface ChatClient {
  chat: { completions: { create(body: Record<string, unknown>, opts: { headers: Record<string, string>; signal: AbortSignal }): Promise<unknown> } };
}
interface StepRunner {
  run(cmd: StepCommand): Promise<{ kind: string }>;
  client(provider?: string): ChatClient;
  close(): void;
}
interface ExecutorModule {
  createStepRunner(opts: { env: Record<string, string>; log: unknown; tracer: unknown }): StepRunner;
}

/**
 * The executor's own cost per model call — retry policy, breaker, rate-limit check, spans, output
 * parsing and schema validation, logging — against a bare `openai` call to the same simulator (0 ms
 * latency, another process) from the same process.
 *
 * `p50Us`/`p99Us`: each step call's duration less the time it spent inside the `openai` client, so
 * the network and the simulator's own jitter cancel within the call. As a cross-check, bare calls are
 * interleaved with the step calls (alternating which goes first, so drift hits both) and reported as
 * the paired difference (wall clock and this process's CPU time) and the difference of percentiles;
 * these carry the noise of two HTTP round trips and are only meaningful on a quiet machine.
 */
export async function resilienceOverhead(args: { steps: number }): Promise<Record<string, unknown>> {
  const calls = Math.max(MIN_CALLS, args.steps);
  const { proc: sim, client: simClient } = await startSimProcess();
  const tracing = startTracing({ serviceName: 'bench-resilience' });
  const executor = (await import(pathToFileURL(`${REPO_ROOT}services/executor/dist/index.js`).href)) as ExecutorModule;
  const runner = executor.createStepRunner({
    env: { OPENAI_BASE_URL: simClient.openaiBaseUrl },
    // the service's logger at its default level: nothing is written on the success path
    log: createLogger('executor', 'info'),
    tracer: tracing.tracer,
  });
  try {
    const cmd = StepCommand.parse({
      schemaVersion: 1,
      runId: 'bench',
      stepId: 'step',
      attempt: 1,
      pool: 'default',
      kind: 'llm',
      call: { model: { provider: 'default', model: 'sim-small' }, messages: [{ role: 'user', content: 'Rate this idea' }], responseSchema: SCHEMA },
      timeoutMs: 10_000,
      retry: {},
    });
    // The runner and the bare call share one client. The runner's calls go through a timing wrapper,
    // so each step call also yields its own time: the step's duration less the time inside the client.
    const completions = runner.client().chat.completions;
    const create = completions.create.bind(completions);
    let insideClientUs = 0;
    let insideClientCpuUs = 0;
    completions.create = async (body, opts) => {
      const t = process.hrtime.bigint();
      const cpu = process.cpuUsage();
      try {
        return await create(body, opts);
      } finally {
        insideClientUs += Number(process.hrtime.bigint() - t) / 1_000;
        const used = process.cpuUsage(cpu);
        insideClientCpuUs += used.user + used.system;
      }
    };
    const bare = async () => {
      await create(
        { model: 'sim-small', messages: cmd.call.messages, response_format: { type: 'json_schema', json_schema: { name: 'output', schema: SCHEMA, strict: false } } },
        { headers: { 'Idempotency-Key': 'bench:bare', 'X-Pw-Call-Attempt': '1' }, signal: AbortSignal.timeout(10_000) },
      );
    };
    const ownUs: number[] = [];
    const ownCpuUs: number[] = [];
    const step = async () => {
      insideClientUs = 0;
      insideClientCpuUs = 0;
      const t = process.hrtime.bigint();
      const cpu = process.cpuUsage();
      const out = await runner.run(cmd);
      ownUs.push(Number(process.hrtime.bigint() - t) / 1_000 - insideClientUs);
      const used = process.cpuUsage(cpu);
      ownCpuUs.push(used.user + used.system - insideClientCpuUs);
      if (out.kind !== 'succeeded') throw new Error(`step did not succeed: ${JSON.stringify(out)}`);
    };
    /** Wall-clock and CPU time (this process, user + system) of one call, in µs. */
    const time = async (fn: () => Promise<void>): Promise<[number, number]> => {
      const cpu = process.cpuUsage();
      const t = process.hrtime.bigint();
      await fn();
      const wall = Number(process.hrtime.bigint() - t) / 1_000;
      const used = process.cpuUsage(cpu);
      return [wall, used.user + used.system];
    };
    for (let i = 0; i < WARMUP_CALLS; i++) {
      await bare();
      await step();
    }
    ownUs.length = 0;
    ownCpuUs.length = 0;
    const bareUs: number[] = [];
    const stepUs: number[] = [];
    const diffUs: number[] = [];
    const cpuDiffUs: number[] = [];
    for (let i = 0; i < calls; i++) {
      let b: [number, number];
      let s: [number, number];
      if (i % 2 === 0) {
        b = await time(bare);
        s = await time(step);
      } else {
        s = await time(step);
        b = await time(bare);
      }
      bareUs.push(b[0]);
      stepUs.push(s[0]);
      diffUs.push(s[0] - b[0]);
      cpuDiffUs.push(s[1] - b[1]);
    }
    const p = (xs: number[], q: number) => round(percentile(xs, q), 1);
    return {
      name: 'resilience-overhead',
      // the executor's own time per model call: each step call less the time it spent inside the client
      p50Us: p(ownUs, 50),
      p99Us: p(ownUs, 99),
      // the same in this process's CPU time: not inflated by waiting for a core on a busy machine
      ownCpuP50Us: p(ownCpuUs, 50),
      ownCpuP99Us: p(ownCpuUs, 99),
      // the same against a separate bare call, interleaved: wall clock and this process's CPU time
      pairedP50Us: p(diffUs, 50),
      pairedP99Us: p(diffUs, 99),
      p50DiffOfPercentilesUs: round(percentile(stepUs, 50) - percentile(bareUs, 50), 1),
      p99DiffOfPercentilesUs: round(percentile(stepUs, 99) - percentile(bareUs, 99), 1),
      pairedCpuP50Us: p(cpuDiffUs, 50),
      pairedCpuP99Us: p(cpuDiffUs, 99),
      bareP50Us: p(bareUs, 50),
      bareP99Us: p(bareUs, 99),
      stepP50Us: p(stepUs, 50),
      stepP99Us: p(stepUs, 99),
      calls,
    };
  } finally {
    runner.close();
    await tracing.shutdown();
    await sim.stop(2_000);
  }
}
