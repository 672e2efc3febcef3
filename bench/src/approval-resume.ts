import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { REPO_ROOT } from '@pipewright/cli';
import { freePort, startNatsServer, startProcess, waitFor } from '@pipewright/devstack';
import { measureFloor } from './lib/floor.js';
import { percentile, round } from './lib/stats.js';

const TOKEN = 'bench-token-0123456789abcdef';
const WARMUP = 20;

/**
 * Approval resume latency: from a person's decision (the HTTP API call) to the `approval.decided`
 * event reaching a durable pull consumer (what the planner consumes). Serial, one approval at a time,
 * against the approver as its own process with the embedded (NATS KV) store. The raw floor under it,
 * measured in the same run: one KV read, one KV compare-and-set and one JetStream publish delivered to
 * a consumer, from one process with no HTTP.
 */
export async function approvalResume(args: { steps: number }): Promise<Record<string, unknown>> {
  const n = Math.max(10, args.steps);
  const nats = await startNatsServer();
  const [port, opsPort] = [await freePort(), await freePort()];
  const approver = await startProcess({
    name: 'approver',
    command: process.execPath,
    args: [`${REPO_ROOT}services/approver/dist/main.js`],
    inheritEnv: false,
    env: { PATH: process.env['PATH'] ?? '', NATS_URL: nats.url, PW_LOG_LEVEL: 'warn', PW_APPROVER_HOST: '127.0.0.1', PW_APPROVER_PORT: String(port), PW_HTTP_PORT: String(opsPort), PW_HTTP_HOST: '127.0.0.1', PW_APPROVER_TOKENS: `bench:${TOKEN}` },
    readyUrl: `http://127.0.0.1:${opsPort}/readyz`,
    readyTimeoutMs: 20_000,
  });
  try {
    const nc = await connect({ servers: nats.url });
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    await jsm.consumers.add('PW_EVENTS', { durable_name: 'bench-planner', ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.New, filter_subject: 'pw.events.*.approval.decided' });
    const arrivals = new Map<string, number>();
    const messages = await (await js.consumers.get('PW_EVENTS', 'bench-planner')).consume({ max_messages: 64 });
    void (async () => {
      for await (const m of messages) {
        arrivals.set(m.json<{ approvalId: string }>().approvalId, performance.now());
        m.ack();
      }
    })();

    const api = `http://127.0.0.1:${port}`;
    const resume: number[] = [];
    const http: number[] = [];
    const started = performance.now();
    for (let i = 0; i < n + WARMUP; i++) {
      const approvalId = await pending(js, api, `bench-${i}`);
      const t0 = performance.now();
      const res = await fetch(`${api}/api/approvals/${encodeURIComponent(approvalId)}/approve`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: '{}' });
      if (res.status !== 200) throw new Error(`approve answered HTTP ${res.status}: ${await res.text()}`);
      await res.arrayBuffer();
      const t1 = performance.now();
      const arrived = await waitFor(`approval.decided of ${approvalId}`, () => arrivals.get(approvalId), { timeoutMs: 10_000, intervalMs: 0.2 });
      if (i >= WARMUP) {
        resume.push(arrived - t0);
        http.push(t1 - t0);
      }
    }
    const elapsedMs = performance.now() - started;
    messages.stop();
    const floor = await decisionFloor(nats.url, 1_000);
    await nc.drain();
    const stepFloor = await measureFloor(nats.url, 1_000);
    const p50 = percentile(resume, 50);
    return {
      name: 'approval-resume',
      p50Ms: round(p50),
      p99Ms: round(percentile(resume, 99)),
      httpP50Ms: round(percentile(http, 50)),
      floorP50Ms: round(floor.p50Ms),
      floorP99Ms: round(floor.p99Ms),
      ratioP50: round(p50 / floor.p50Ms, 2),
      roundTripFloorP50Ms: round(stepFloor.p50Ms),
      decisions: resume.length,
      approvalsPerSec: round(((n + WARMUP) / elapsedMs) * 1000, 1),
      store: 'kv',
      goalP50Ms: 10,
    };
  } finally {
    await approver.stop(5_000);
    await nats.stop();
  }
}

/** Publishes an approval request as the planner does and waits until the approver has stored it. */
async function pending(js: JetStreamClient, api: string, runId: string): Promise<string> {
  const approvalId = `${runId}:pay:1`;
  const request = { schemaVersion: 1, approvalId, runId, stepId: 'pay', action: { kind: 'tool', tool: 'pay', arguments: { amountUsd: 10 } }, reason: 'bench', requestedAt: new Date().toISOString() };
  await js.publish('pw.approvals.request', JSON.stringify(request), { msgID: approvalId });
  await waitFor(`approval ${approvalId} stored`, async () => {
    const r = await fetch(`${api}/api/approvals/${encodeURIComponent(approvalId)}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    await r.arrayBuffer();
    return r.status === 200 ? true : undefined;
  }, { timeoutMs: 10_000, intervalMs: 1 });
  return approvalId;
}

/**
 * What a decision costs on the bus with nothing of ours around it: read the record's last value and
 * compare-and-set its next one (what NATS KV does underneath: a last-by-subject get and a publish with
 * an expected subject sequence), then publish the event and receive it on a consumer.
 */
async function decisionFloor(url: string, n: number): Promise<{ p50Ms: number; p99Ms: number }> {
  const a = await connect({ servers: url });
  const b = await connect({ servers: url });
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
