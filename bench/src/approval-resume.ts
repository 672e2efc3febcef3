import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NodeConnectionOptions } from '@nats-io/transport-node';
import { LocalStack, submitRun } from '@pipewright/cli';
import { waitFor } from '@pipewright/devstack';
import { measureFloor } from './lib/floor.js';
import { stackLoopDelays } from './lib/loop-delay.js';
import { percentile, round } from './lib/stats.js';

const TOKEN = 'bench-token-0123456789abcdef';
const WARMUP = 20;
/** Runs measured at most, whatever `--steps` says: each one is a whole run through three services. */
const MAX_DECISIONS = 1_000;

/** Two steps; the first one's output waits for a person, the second is what the decision releases. */
const PIPELINE = {
  name: 'approval-resume',
  defaults: { model: 'sim-small', maxOutputTokens: 16 },
  steps: [
    { id: 'gate', prompt: 'Draft', approval: { always: true } },
    { id: 'next', needs: ['gate'], prompt: 'Go on from {{steps.gate.output}}' },
  ],
};

/**
 * Approval resume latency through the planner: from a person's decision (the start of the HTTP API
 * call) to the dispatch of the step it releases (the `step.dispatched` event of the next step, as a
 * client sees it). Serial, one run at a time, with the planner, an executor and the approver as their
 * own processes and the embedded (NATS KV) store. That covers the approver's compare-and-set and
 * publish, the planner's consume, decide, compare-and-set, and its publish of the next step.
 * Also reported: the approver's part alone (decision to `approval.decided` seen by a client), and the
 * raw floors measured in the same run: a decision's KV read, CAS, publish and delivery; one
 * command → worker → result round trip.
 */
export async function approvalResume(args: { steps: number }): Promise<Record<string, unknown>> {
  const n = Math.min(MAX_DECISIONS, Math.max(10, args.steps));
  const stack = await LocalStack.start({ services: ['planner', 'executor', 'approver'], env: { PW_LOG_LEVEL: 'warn', PW_APPROVER_TOKENS: `bench:${TOKEN}` } });
  try {
    const nc = await connect(stack.natsOptions());
    const js = jetstream(nc);
    // A core subscription sees every event as the stream stores it, with its arrival time.
    const seen = new Map<string, number>();
    const sub = nc.subscribe('pw.events.>');
    void (async () => {
      for await (const m of sub) {
        const [, , runId, ...type] = m.subject.split('.');
        const body = type.join('.') === 'step.dispatched' ? `:${m.json<{ stepId: string }>().stepId}` : '';
        seen.set(`${runId ?? ''}:${type.join('.')}${body}`, performance.now());
      }
    })();
    await nc.flush();

    const api = `http://127.0.0.1:${stack.approverPort ?? 0}`;
    const resume: number[] = [];
    const approverPart: number[] = [];
    const http: number[] = [];
    const started = performance.now();
    for (let i = 0; i < n + WARMUP; i++) {
      const runId = await submitRun(js, PIPELINE, {}, { runId: `ar-${i}-${Date.now().toString(36)}` });
      const approvalId = `${runId}:gate:1`;
      await pending(api, approvalId);
      const t0 = performance.now();
      const res = await fetch(`${api}/api/approvals/${encodeURIComponent(approvalId)}/approve`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: '{}' });
      if (res.status !== 200) throw new Error(`approve answered HTTP ${res.status}: ${await res.text()}`);
      await res.arrayBuffer();
      const t1 = performance.now();
      const dispatched = await waitFor(`dispatch of the next step of ${runId}`, () => seen.get(`${runId}:step.dispatched:next`), { timeoutMs: 10_000, intervalMs: 0.2 });
      const decided = seen.get(`${runId}:approval.decided`) ?? dispatched;
      await waitFor(`run ${runId} to finish`, () => seen.get(`${runId}:run.finished`), { timeoutMs: 10_000, intervalMs: 0.5 });
      if (i >= WARMUP) {
        resume.push(dispatched - t0);
        approverPart.push(decided - t0);
        http.push(t1 - t0);
      }
    }
    const elapsedMs = performance.now() - started;
    sub.unsubscribe();
    await nc.drain();
    const floor = await decisionFloor(stack.natsOptions(), 1_000);
    const stepFloor = await measureFloor(stack.natsOptions(), 1_000);
    const p50 = percentile(resume, 50);
    return {
      name: 'approval-resume',
      measures: 'decision (HTTP call) -> next step dispatched by the planner',
      p50Ms: round(p50),
      p99Ms: round(percentile(resume, 99)),
      approverP50Ms: round(percentile(approverPart, 50)),
      approverP99Ms: round(percentile(approverPart, 99)),
      httpP50Ms: round(percentile(http, 50)),
      floorP50Ms: round(floor.p50Ms),
      floorP99Ms: round(floor.p99Ms),
      ratioP50: round(p50 / floor.p50Ms, 2),
      roundTripFloorP50Ms: round(stepFloor.p50Ms),
      decisions: resume.length,
      runsPerSec: round(((n + WARMUP) / elapsedMs) * 1000, 1),
      store: 'kv',
      goalP50Ms: 10,
      serviceLoopDelay: await stackLoopDelays(stack),
    };
  } finally {
    await stack.stop();
  }
}

/** Waits until the approver has stored the approval the planner requested (it is pending). */
async function pending(api: string, approvalId: string): Promise<void> {
  await waitFor(`approval ${approvalId} stored`, async () => {
    const r = await fetch(`${api}/api/approvals/${encodeURIComponent(approvalId)}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    await r.arrayBuffer();
    return r.status === 200 ? true : undefined;
  }, { timeoutMs: 10_000, intervalMs: 1 });
}

/**
 * What a decision costs on the bus with nothing of ours around it: read the record's last value and
 * compare-and-set its next one (what NATS KV does underneath: a last-by-subject get and a publish with
 * an expected subject sequence), then publish the event and receive it on a consumer.
 */
async function decisionFloor(target: NodeConnectionOptions, n: number): Promise<{ p50Ms: number; p99Ms: number }> {
  const a = await connect(target);
  const b = await connect(target);
  const jsm = await jetstreamManager(a);
  await jsm.streams.add({ name: 'FLOOR_RECORDS', subjects: ['floor.records.>'], max_msgs_per_subject: 1 });
  await jsm.streams.add({ name: 'FLOOR_DECIDED', subjects: ['floor.decided'] });
  await jsm.consumers.add('FLOOR_DECIDED', { durable_name: 'c', ack_policy: AckPolicy.Explicit });
  const jsA = jetstream(a);
  const delivered = await (await jetstream(b).consumers.get('FLOOR_DECIDED', 'c')).consume({ max_messages: 1 });
  const it = delivered[Symbol.asyncIterator]();
  const times: number[] = [];
  const body = new TextEncoder().encode(JSON.stringify({ approvalId: 'r:s:1', status: 'pending', pad: 'x'.repeat(600) }));
  for (let i = 0; i < n; i++) {
    const subject = `floor.records.k${i}`;
    await jsA.publish(subject, body);
    const t0 = performance.now();
    const last = await jsm.streams.getMessage('FLOOR_RECORDS', { last_by_subj: subject });
    await jsA.publish(subject, body, { expect: { lastSubjectSequence: last?.seq ?? 0 } });
    await jsA.publish('floor.decided', body, { msgID: `d-${i}` });
    const r = await it.next();
    if (r.done) throw new Error('floor consumer ended');
    r.value.ack();
    times.push(performance.now() - t0);
  }
  delivered.stop(); // an unstopped consume keeps its heartbeat timer, and the process, alive
  await a.drain();
  await b.drain();
  return { p50Ms: percentile(times, 50), p99Ms: percentile(times, 99) };
}
