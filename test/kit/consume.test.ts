import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { headers as H, streams } from '@pipewright/contracts';
import { startNatsServer, waitFor, type NatsServerHandle } from '@pipewright/devstack';
import { createLogger, ensurePullConsumer, ensureStream, RetryableError, startConsumer, TerminalError, type Outcome } from '@pipewright/kit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';

/** The typed consume loop against a real nats-server: decode, outcomes, DLQ, redelivery, shutdown. */
describe('startConsumer', () => {
  let server: NatsServerHandle;
  let nc: NatsConnection;
  let js: JetStreamClient;
  const log = createLogger('consume-test', 'silent');
  const Msg = z.object({ n: z.number().int() }).strict();
  let durable = '';
  let seq = 0;

  beforeAll(async () => {
    server = await startNatsServer();
    nc = await connect({ servers: server.url });
    js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    await ensureStream(jsm, { name: 'T', subjects: ['t.>'], retention: 'workqueue', maxAgeMs: 60_000, duplicateWindowMs: 60_000 });
    await ensureStream(jsm, streams.dlq);
  });
  afterAll(async () => {
    await nc?.drain();
    await server?.stop();
  });
  beforeEach(async () => {
    durable = `c${++seq}`;
    await ensurePullConsumer(await jetstreamManager(nc), { stream: 'T', durable, filterSubjects: [`t.${durable}`], ackWaitMs: 2_000, maxDeliver: 3 });
  });

  const start = (handler: (v: { n: number }) => Promise<Outcome>, onInvalid?: Parameters<typeof startConsumer>[0]['onInvalid']) =>
    startConsumer({ js, service: `svc-${durable}`, stream: 'T', durable, schema: Msg, handler, log, concurrency: 4, ackWaitMs: 2_000, maxDeliver: 3, spanName: 't', ...(onInvalid ? { onInvalid } : {}) });
  const dlq = async () => {
    const out: { reason: string; subject: string; body: string }[] = [];
    const info = await (await js.streams.get(streams.dlq.name)).info();
    for (let s = info.state.first_seq; s <= info.state.last_seq && info.state.messages > 0; s++) {
      const m = await (await js.streams.get(streams.dlq.name)).getMessage({ seq: s }).catch(() => null);
      if (m && m.subject === `pw.dlq.svc-${durable}`) out.push({ reason: m.header.get(H.dlqReason), subject: m.header.get(H.dlqSubject), body: m.string() });
    }
    return out;
  };

  it('refuses a malformed message once: never reaches the handler, copied to the DLQ with the reason', async () => {
    let handled = 0;
    const invalid: string[] = [];
    const c = await start(() => Promise.resolve((handled++, { kind: 'ack' } as const)), (i) => Promise.resolve(void invalid.push(i.issues.map((x) => x.path).join(','))));
    await js.publish(`t.${durable}`, 'not json');
    await js.publish(`t.${durable}`, JSON.stringify({ n: 1, extra: true }));
    await js.publish(`t.${durable}`, JSON.stringify({ n: 2 }));
    const entries = await waitFor('two DLQ copies', async () => ((await dlq()).length >= 2 ? dlq() : undefined), { timeoutMs: 5_000 });
    expect(entries.map((e) => e.reason)).toEqual([expect.stringContaining('not JSON'), expect.stringContaining('extra')]);
    expect(entries[0]).toMatchObject({ subject: `t.${durable}`, body: 'not json' });
    await waitFor('the valid message', () => (handled === 1 ? true : undefined), { timeoutMs: 5_000 });
    expect(invalid).toEqual(['(root)', 'extra']);
    await c.stop(1_000);
    expect(handled).toBe(1); // the bad ones were terminated, not redelivered
  });

  it('redelivers on retry, and sends the message to the DLQ when its deliveries run out', async () => {
    const seen: number[] = [];
    const c = await start(() => {
      seen.push(Date.now());
      return Promise.reject(new RetryableError('upstream busy', 100));
    });
    await js.publish(`t.${durable}`, JSON.stringify({ n: 7 }));
    const entries = await waitFor('a DLQ copy', async () => ((await dlq()).length > 0 ? dlq() : undefined), { timeoutMs: 10_000 });
    expect(seen.length).toBe(3); // maxDeliver
    expect(seen[1]! - seen[0]!).toBeGreaterThanOrEqual(90); // the retry waited its Retry-After
    expect(entries[0]!.reason).toContain('deliveries exhausted (3)');
    await c.stop(1_000);
  });

  it('rejects at once on a terminal error', async () => {
    let calls = 0;
    const c = await start(() => {
      calls++;
      return Promise.reject(new TerminalError('bad request', 'http_400'));
    });
    await js.publish(`t.${durable}`, JSON.stringify({ n: 8 }));
    const entries = await waitFor('a DLQ copy', async () => ((await dlq()).length > 0 ? dlq() : undefined), { timeoutMs: 5_000 });
    expect(entries[0]!.reason).toBe('http_400: bad request');
    await c.stop(1_000);
    expect(calls).toBe(1);
  });

  it('hands in-flight work back on shutdown, so another consumer finishes it', async () => {
    let release: () => void = () => undefined;
    const first = await start(async (_v) => {
      await new Promise<void>((r) => (release = r));
      return { kind: 'ack' };
    });
    await js.publish(`t.${durable}`, JSON.stringify({ n: 9 }));
    await waitFor('the first consumer to take the message', () => (first.inFlight() === 1 ? true : undefined), { timeoutMs: 5_000 });
    const stopped = first.stop(200); // grace elapses while the handler is stuck: the message is nak'ed
    await stopped;
    release();
    let got = 0;
    const second = await start((v) => Promise.resolve((got = v.n, { kind: 'ack' } as const)));
    await waitFor('the second consumer to get the handed-back message', () => (got === 9 ? true : undefined), { timeoutMs: 1_500 });
    await second.stop(1_000);
  });
});
