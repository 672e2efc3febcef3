import { createHash } from 'node:crypto';
import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import { connect, headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { headers as H, MAX_JSON_DEPTH, streams } from '@pipewright/contracts';
import { startNatsServer, waitFor, type NatsServerHandle } from '@pipewright/devstack';
import { createLogger, ensurePullConsumer, ensureStream, startConsumer, type ConsumerHandle } from '@pipewright/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';

/**
 * Every refused message reaches the DLQ: one within a few hundred bytes of max_payload (whose DLQ
 * headers would push it over) is stored cut to fit, with its size and sha256; one nested past
 * MAX_JSON_DEPTH is refused before anything walks it, and never redelivered.
 */
describe('DLQ copies of refused messages', () => {
  let server: NatsServerHandle;
  let nc: NatsConnection;
  let js: JetStreamClient;
  let consumer: ConsumerHandle;
  let handled = 0;
  const invalid: { reason: string; raw: unknown }[] = [];

  beforeAll(async () => {
    server = await startNatsServer();
    nc = await connect({ servers: server.url });
    js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    await ensureStream(jsm, { name: 'D', subjects: ['d.>'], retention: 'workqueue', maxAgeMs: 60_000, duplicateWindowMs: 60_000 });
    await ensureStream(jsm, streams.dlq);
    await ensurePullConsumer(jsm, { stream: 'D', durable: 'd', filterSubjects: ['d.in'], ackWaitMs: 2_000, maxDeliver: 3 });
    consumer = await startConsumer({
      js, service: 'dlq-test', stream: 'D', durable: 'd', log: createLogger('dlq-test', 'silent'), concurrency: 4, ackWaitMs: 2_000, maxDeliver: 3, spanName: 'd',
      schema: z.strictObject({ n: z.number(), tree: z.unknown().optional() }),
      handler: () => Promise.resolve((handled++, { kind: 'ack' } as const)),
      onInvalid: (i) => Promise.resolve(void invalid.push({ reason: i.reason, raw: i.raw })),
    });
  });
  afterAll(async () => {
    await consumer?.stop(1_000);
    await nc?.drain();
    await server?.stop();
  });

  const dlqCopies = async () => {
    const s = await js.streams.get(streams.dlq.name);
    const info = await s.info();
    const out = [];
    for (let seq = info.state.first_seq; info.state.messages > 0 && seq <= info.state.last_seq; seq++) out.push(await s.getMessage({ seq }));
    return out.flatMap((m) => (m ? [m] : []));
  };

  it('stores a refused message that fills max_payload cut to fit, with its size and sha256', async () => {
    const max = nc.info!.max_payload;
    const h = natsHeaders();
    h.set(H.traceparent, '00-0123456789abcdef0123456789abcdef-0123456789abcdef-01');
    // 200 bytes under the limit (headers included): the message fits, its copy with the DLQ headers would not
    const body = JSON.stringify({ n: 1, unknownField: 'x'.repeat(max - 200 - 100 - 30) });
    const bytes = new TextEncoder().encode(body);
    await js.publish('d.in', bytes, { headers: h });
    const [copy] = await waitFor('the DLQ copy', async () => ((await dlqCopies()).length >= 1 ? dlqCopies() : undefined), { timeoutMs: 10_000 });
    expect(copy!.header.get(H.dlqTruncated)).toBe('payload');
    expect(copy!.header.get(H.dlqSize)).toBe(String(bytes.length));
    expect(copy!.header.get(H.dlqSha256)).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(copy!.header.get(H.dlqReason)).toContain('unknownField');
    expect(copy!.header.get(H.traceparent)).toBe(h.get(H.traceparent));
    expect(copy!.data.length).toBeLessThan(bytes.length);
    expect(Buffer.from(copy!.data).equals(Buffer.from(bytes.subarray(0, copy!.data.length)))).toBe(true);
  });

  it(`refuses a message nested deeper than ${MAX_JSON_DEPTH} levels once, whole in the DLQ, its run id still readable`, async () => {
    const deep = `{"n":2,"runId":"r-deep","tree":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    await js.publish('d.in', deep);
    await js.publish('d.in', JSON.stringify({ n: 3 })); // behind it, handled
    await waitFor('the valid message', () => (handled >= 1 ? true : undefined), { timeoutMs: 10_000 });
    const copies = await waitFor('two DLQ copies', async () => ((await dlqCopies()).length >= 2 ? dlqCopies() : undefined), { timeoutMs: 10_000 });
    const copy = copies[1]!;
    expect(copy.header.get(H.dlqReason)).toContain('too deep');
    expect(copy.header.get(H.dlqTruncated)).toBe('');
    expect(copy.string()).toBe(deep);
    expect(invalid.at(-1)).toEqual({ reason: expect.stringContaining(`more than ${MAX_JSON_DEPTH} levels`), raw: { n: 2, runId: 'r-deep' } });
    expect(handled).toBe(1);
    // terminated, not handed back: nothing of the work queue is left to redeliver
    await waitFor('the stream drained', async () => ((await (await js.streams.get('D')).info()).state.messages === 0 ? true : undefined), { timeoutMs: 10_000 });
    expect((await dlqCopies()).length).toBe(2);
  });
});
