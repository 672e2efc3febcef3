// Measures each service's peak resident memory (VmHWM from /proc/<pid>/status) under a load of runs,
// to size the manifests' memory requests and limits (figures in deploy/README.md, "Memory").
//
//   pnpm -s build && node deploy/tools/measure-rss.mjs [runs=200] [inFlight=32]
//
// Starts the local stack (nats-server, simulator, one process per service with the Deployments'
// executor concurrency), submits `runs` research-brief runs with `inFlight` of them in flight at once,
// waits for each to finish, then prints one JSON line with the peaks in MiB. Linux only (/proc).
import process from 'node:process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { LocalStack, REPO_ROOT, openBus, submitRun, watchRun } from '@pipewright/cli';

const runs = Number(process.argv[2] ?? 200);
const inFlight = Number(process.argv[3] ?? 32);
const pipeline = parse(readFileSync(join(REPO_ROOT, 'examples/pipelines/research-brief.yaml'), 'utf8'));

/** VmHWM (peak resident set) and VmRSS of a process, in MiB. */
function memory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { peakMiB: Math.round(kb('VmHWM') / 1024), nowMiB: Math.round(kb('VmRSS') / 1024) };
}

const stack = await LocalStack.start({ env: { PW_EXECUTOR_CONCURRENCY: '32', PW_LOG_LEVEL: 'warn' } });
const bus = await openBus({ NATS_URL: stack.natsUrl });
const started = Date.now();
const outcomes = {};
try {
  let next = 0;
  const worker = async () => {
    while (next < runs) {
      const i = next++;
      const runId = await submitRun(bus.js, pipeline, { topic: `tidal power ${i}`, audience: 'engineers' });
      const end = await watchRun(bus.js, runId, () => {}, { timeoutMs: 300_000 });
      const status = end?.status ?? end?.type ?? 'unknown';
      outcomes[status] = (outcomes[status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const services = {};
  for (const name of ['planner', 'executor', 'budget', 'approver']) for (const p of stack.processes(name)) services[name] = memory(p.pid);
  services['nats-server'] = memory(stack.nats.pid);
  services['llm-sim'] = memory(stack.simPid);
  process.stdout.write(`${JSON.stringify({ runs, inFlight, seconds: Math.round((Date.now() - started) / 1000), outcomes, node: process.version, services })}\n`);
} finally {
  await bus.close();
  await stack.stop();
}
