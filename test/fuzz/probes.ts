import type { LocalStack } from '@pipewright/cli';
import { isAlive } from '../support/run.js';

/** How long one probe may take before it counts as unanswered: a held event loop, not a slow machine. */
const PROBE_TIMEOUT_MS = 5_000;
/** Pause between two rounds of probes. */
const PROBE_EVERY_MS = 100;

export interface ProbeReport {
  rounds: number;
  probes: number;
  /** Probes that failed (not 200, no answer, or a dead process), with what and when. */
  failures: string[];
  /** The slowest answer seen from each process, in ms. */
  slowestMs: Record<string, number>;
}

/**
 * Probes every service process of the stack in rounds until stopped: the process is alive, and its
 * /healthz and /readyz answer 200. Kubernetes would restart a pod whose probes fail; here each failure
 * is recorded, and the suite asserts there were none.
 */
export function startProbes(stack: LocalStack): { stop: () => Promise<ProbeReport> } {
  const report: ProbeReport = { rounds: 0, probes: 0, failures: [], slowestMs: {} };
  let stopping = false;
  const probe = async (id: string, port: number, path: string) => {
    const started = performance.now();
    try {
      const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
      await res.arrayBuffer();
      if (res.status !== 200) report.failures.push(`${id}${path}: ${res.status}`);
    } catch (err) {
      report.failures.push(`${id}${path}: ${err instanceof Error ? err.message : String(err)}`);
    }
    report.probes++;
    report.slowestMs[id] = Math.max(report.slowestMs[id] ?? 0, Math.round(performance.now() - started));
  };
  const loop = (async () => {
    while (!stopping) {
      const checks: Promise<void>[] = [];
      for (const name of ['planner', 'executor', 'budget', 'approver', 'console'] as const) {
        for (const p of stack.processes(name)) {
          if (!isAlive(p.pid)) report.failures.push(`${p.name}: not running`);
          const port = stack.opsPorts.get(p.name);
          if (port === undefined) continue;
          checks.push(probe(p.name, port, '/healthz'), probe(p.name, port, '/readyz'));
        }
      }
      await Promise.all(checks);
      report.rounds++;
      await new Promise((r) => setTimeout(r, PROBE_EVERY_MS));
    }
  })();
  return {
    async stop() {
      stopping = true;
      await loop;
      return report;
    },
  };
}

export interface ServiceFigures {
  loopDelayMaxMs: number;
  loopDelayP99Ms: number;
  /** pw_dlq_messages_total by outcome (copied, truncated, failed). */
  dlq: Record<string, number>;
}

/** Each service process's event-loop delay (over its last 1-2 minutes) and DLQ counters, from /metrics. */
export async function scrapeFigures(stack: LocalStack): Promise<Record<string, ServiceFigures>> {
  const out: Record<string, ServiceFigures> = {};
  for (const [id, port] of stack.opsPorts) {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) })).text();
    const value = (re: RegExp) => Number(re.exec(text)?.[1] ?? NaN);
    const dlq: Record<string, number> = {};
    for (const m of text.matchAll(/^pw_dlq_messages_total\{[^}]*outcome="(\w+)"[^}]*\} (\S+)$/gm)) dlq[m[1]!] = Number(m[2]);
    out[id] = {
      loopDelayMaxMs: Math.round(value(/^pw_event_loop_delay_max_seconds(?:\{[^}]*\})? (\S+)$/m) * 1000),
      loopDelayP99Ms: Math.round(value(/^pw_event_loop_delay_p99_seconds(?:\{[^}]*\})? (\S+)$/m) * 1000),
      dlq,
    };
  }
  return out;
}
