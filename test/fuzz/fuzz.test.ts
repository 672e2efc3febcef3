import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { LocalStack, watchRun } from '@pipewright/cli';
import { headers as H, msgIds, RunId, streams, subjects, StepCompleted } from '@pipewright/contracts';
import { waitFor } from '@pipewright/devstack';
import { serveTool, type ToolHandle } from '@pipewright/tools';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { sendForged } from './forged.js';
import { sendConsoleJunk } from './console-http.js';
import { sendHttpJunk } from './http.js';
import { badPayloads } from './payloads.js';
import { scrapeFigures, startProbes } from './probes.js';
import { REQUEST_TARGETS, STREAM_TARGETS, TOOL_NAME, refusedBy } from './targets.js';

/** Fixed seed: every run sends the same bytes. */
const SEED = 20_260_111;
const PER_STREAM_TARGET = 100;
const PER_REQUEST_TARGET = 70;
/** How much slower than the baseline run a valid run may be with the fuzzed backlog in front of it. */
const BEHIND_FACTOR = 30;
/** How much slower than the baseline run the run with an 8,000-character word may be. */
const LONG_WORD_FACTOR = 10;
/** An upper bound on any one wait below: each ends on its condition, this only stops a hung suite. */
const WAIT_MS = 120_000;
/** The test's own limit: a hang guard over the bounded waits, not a speed target (that is the baseline's). */
const TEST_LIMIT_MS = 600_000;

const PIPELINE = { name: 'fuzz-echo', defaults: { model: 'sim-small' }, input: { type: 'object', properties: { t: { type: 'string' } }, required: ['t'] }, steps: [{ id: 'a', prompt: 'Echo {{input.t}}' }] };

/**
 * Bad input never stalls, crashes or vanishes: more than 1,000 malformed, oversized, deep, unicode-junk
 * and forged messages to every input subject and endpoint of a running stack, while every service's
 * probes are watched. Every refusal must be recorded (a DLQ copy of each bad stream message, a
 * `run.rejected` for each bad run request, an error reply to each bad request, a 4xx to each bad HTTP
 * call), and a valid run behind them finishes within a bound derived from a baseline run measured here.
 */
describe('fuzzing every input of a running stack', () => {
  let stack: LocalStack;
  let nc: NatsConnection;
  let js: JetStreamClient;
  let tool: ToolHandle;

  beforeAll(async () => {
    stack = await LocalStack.start();
    nc = await connect(stack.natsOptions('admin'));
    js = jetstream(nc);
    tool = await serveTool(nc, { name: TOOL_NAME, description: 'echoes its text', input: z.strictObject({ text: z.string().max(100) }), handler: ({ text }) => Promise.resolve({ text }) });
  });
  afterAll(async () => {
    await tool?.stop();
    await nc?.drain();
    await stack?.stop();
  });

  const timedRun = async (input: Record<string, unknown>, runId: string) => {
    const request = { schemaVersion: 1, runId, pipeline: PIPELINE, input };
    const started = performance.now();
    await js.publish(subjects.runSubmit, JSON.stringify(request), { msgID: msgIds.submit(runId) });
    const end = await watchRun(js, runId, () => {}, { timeoutMs: WAIT_MS });
    return { ms: performance.now() - started, end, request };
  };

  it('records every refusal, keeps every service up, and still runs a valid run behind them', async () => {
    await timedRun({ t: 'warm-up' }, 'fuzz-warmup');
    const baseline = await timedRun({ t: 'hello' }, 'fuzz-baseline');
    expect(baseline.end).toMatchObject({ type: 'run.finished', status: 'succeeded' });
    const word = Array.from({ length: 8_000 }, (_, i) => String.fromCharCode(97 + ((i * 7_919) % 26))).join('');
    const longWord = await timedRun({ t: word }, 'fuzz-long-word');
    expect(longWord.end).toMatchObject({ type: 'run.finished', status: 'succeeded' });
    expect(longWord.ms).toBeLessThan(baseline.ms * LONG_WORD_FACTOR);

    const events = await js.streams.get(streams.events.name);
    const completed = StepCompleted.parse((await events.getMessage({ last_by_subj: subjects.taskEvent('fuzz-baseline', 'step.completed', 'a=1') }))!.json());
    const started = (await events.getMessage({ last_by_subj: subjects.taskEvent('fuzz-baseline', 'step.started', 'a=1') }))?.json<{ owner?: string }>();

    // every payload is made before the probes start: the probes time the services, not this process
    const maxPayload = nc.info!.max_payload;
    // a payload the target's schema would take is not a bad payload: left out
    const streamPayloads = STREAM_TARGETS.map((t, i) => ({ t, payloads: badPayloads(t.template, SEED + i * 100, PER_STREAM_TARGET, maxPayload).filter((p) => refusedBy(t.schema, p.bytes)) }));
    const requestPayloads = REQUEST_TARGETS.map((t, i) => ({ t, payloads: badPayloads(t.template, SEED + 5_000 + i * 100, PER_REQUEST_TARGET, maxPayload).filter((p) => refusedBy(t.schema, p.bytes)) }));
    const dlq = await watchDlq(js);
    const probes = startProbes(stack);
    // stream subjects: each bad message must be refused and copied to its consumer's DLQ
    const mustRefuse: string[] = [];
    const sentAs = new Map<string, string>();
    const submits: { seq: number; claimed: string | undefined }[] = [];
    const byCategory: Record<string, number> = {};
    for (const { t, payloads } of streamPayloads) {
      for (const p of payloads) {
        const ack = await js.publish(t.subject, p.bytes);
        mustRefuse.push(`${t.dlqService}:${ack.stream}:${ack.seq}`);
        sentAs.set(`${t.dlqService}:${ack.stream}:${ack.seq}`, `${t.name} ${p.category}: ${new TextDecoder().decode(p.bytes.subarray(0, 120))}`);
        byCategory[p.category] = (byCategory[p.category] ?? 0) + 1;
        if (t.subject === subjects.runSubmit) submits.push({ seq: ack.seq, claimed: claimedRunId(p.bytes) });
      }
    }
    // request-reply endpoints: each bad request must be answered, with a refusal
    let requests = 0;
    const unanswered: string[] = [];
    for (const { t, payloads } of requestPayloads) {
      await Promise.all(
        payloads.map(async (p) => {
          requests++;
          byCategory[p.category] = (byCategory[p.category] ?? 0) + 1;
          try {
            const reply = await nc.request(t.subject, p.bytes, { timeout: 10_000 });
            if (!t.refused(reply.json())) unanswered.push(`${t.name}: not refused: ${reply.string().slice(0, 200)}`);
          } catch (err) {
            unanswered.push(`${t.name} (${p.category}): ${err instanceof Error ? err.message : String(err)}`);
          }
        }),
      );
    }
    const approverHttp = await sendHttpJunk(`http://127.0.0.1:${stack.approverPort}`, stack.approverToken!, SEED, maxPayload);
    const consoleHttp = await sendConsoleJunk(`http://127.0.0.1:${stack.consolePort}`, stack.consoleToken!, SEED, maxPayload);
    const http = { sent: approverHttp.sent + consoleHttp.sent, closedEarly: approverHttp.closedEarly + consoleHttp.closedEarly, unexpected: [...approverHttp.unexpected, ...consoleHttp.unexpected] };
    const forged = await sendForged(nc, js, { runId: 'fuzz-baseline', submit: baseline.request, completed, owner: started?.owner });
    mustRefuse.push(...forged.mustRefuse);

    // a valid run behind all of it
    const behind = await timedRun({ t: 'behind the fuzz' }, 'fuzz-behind');
    const report = await probes.stop();

    const total = mustRefuse.length + requests + http.sent + forged.sent;
    console.log('[fuzz]', JSON.stringify({
      total, streamMessages: mustRefuse.length, requests, http: http.sent, httpClosedEarly: http.closedEarly, forged: forged.sent, byCategory,
      baselineMs: Math.round(baseline.ms), longWordRunMs: Math.round(longWord.ms), behindMs: Math.round(behind.ms), boundMs: Math.round(baseline.ms * BEHIND_FACTOR),
      probes: report.probes, slowestProbeMs: report.slowestMs, forgedRefusedByJetStream: forged.refusedByJetStream, forgedDuplicates: forged.duplicates,
    }));
    expect(total).toBeGreaterThanOrEqual(1_000);
    expect(report.failures).toEqual([]);
    expect(report.rounds).toBeGreaterThan(0);
    expect(unanswered).toEqual([]);
    expect(http.unexpected).toEqual([]);
    expect(forged.refusedByJetStream).toBe(3);
    expect(forged.duplicates).toBe(1);
    expect(behind.end).toMatchObject({ type: 'run.finished', status: 'succeeded' });
    expect(behind.ms).toBeLessThan(baseline.ms * BEHIND_FACTOR);

    // every bad stream message has its DLQ copy, and every bad run request its run.rejected
    let missing = mustRefuse;
    await waitFor('a DLQ copy of every refused message', () => ((missing = mustRefuse.filter((k) => !dlq.seen.has(k))).length === 0 ? true : undefined), { timeoutMs: WAIT_MS, intervalMs: 250 }).catch(() => undefined);
    expect(missing.map((k) => `${k} (${sentAs.get(k) ?? 'forged'})`)).toEqual([]);
    const rejectedRuns = [...new Set(submits.map((s) => s.claimed ?? `rejected-${s.seq}`))];
    let unrejected = rejectedRuns;
    const rejectedYet = async (runId: string) => (await events.getMessage({ last_by_subj: subjects.runEvent(runId, 'run.rejected') }).catch(() => null)) === null;
    await waitFor('a run.rejected for every bad run request', async () => {
      const left: string[] = [];
      for (const runId of unrejected) if (await rejectedYet(runId)) left.push(runId);
      unrejected = left;
      return left.length === 0 ? true : undefined;
    }, { timeoutMs: WAIT_MS, intervalMs: 250 }).catch(() => undefined);
    expect(unrejected).toEqual([]);
    await dlq.stop();
    // the refusals are counted on /metrics too, and none failed to reach the DLQ
    const figures = await scrapeFigures(stack);
    console.log('[fuzz] per service (event-loop delay over the last 1-2 min; DLQ copies):', JSON.stringify(figures));
    const dlqTotal = (outcome: string) => Object.values(figures).reduce((n, f) => n + (f.dlq[outcome] ?? 0), 0);
    expect(dlqTotal('copied')).toBeGreaterThanOrEqual(mustRefuse.length);
    expect(dlqTotal('truncated')).toBeGreaterThan(0);
    expect(dlqTotal('failed')).toBe(0);
    // the forgeries changed nothing: the finished run is still finished once, no ghost run exists
    const end = await watchRun(js, 'fuzz-baseline', () => {}, { timeoutMs: WAIT_MS });
    expect(end).toMatchObject({ type: 'run.finished', status: 'succeeded' });
    const jsm = await jetstreamManager(nc);
    for (let i = 0; i < 5; i++) expect((await jsm.streams.info(streams.events.name, { subjects_filter: subjects.runEvent(`fuzz-ghost-${i}`, 'run.started') })).state.subjects ?? {}).toEqual({});
  }, TEST_LIMIT_MS);
});

/** Follows the DLQ (headers only) from its start: `<service>:<stream>:<seq>` of every copy stored. */
async function watchDlq(js: JetStreamClient): Promise<{ seen: Set<string>; stop: () => Promise<void> }> {
  const seen = new Set<string>();
  const ordered = await js.consumers.get(streams.dlq.name, { headers_only: true });
  const messages = await ordered.consume();
  const loop = (async () => {
    for await (const m of messages) seen.add(`${m.subject.slice('pw.dlq.'.length)}:${m.headers?.get(H.dlqStream) ?? ''}:${m.headers?.get(H.dlqSeq) ?? ''}`);
  })();
  return {
    seen,
    async stop() {
      messages.stop();
      await loop;
    },
  };
}

/** The run id a bad run request claims, when it has a valid one (the planner rejects under it). */
function claimedRunId(bytes: Uint8Array): string | undefined {
  try {
    const v: unknown = JSON.parse(new TextDecoder().decode(bytes));
    const id = typeof v === 'object' && v !== null ? (v as { runId?: unknown }).runId : undefined;
    return RunId.safeParse(id).success ? (id as string) : undefined;
  } catch {
    return undefined;
  }
}
