import { AckPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { connect, type NodeConnectionOptions } from '@nats-io/transport-node';
import { percentile } from './stats.js';

/**
 * The raw NATS floor under one step: publish a command to a work-queue stream, a worker (its own
 * connection) acks it and publishes a result to a second stream, and the first side receives it.
 * Serial, one in flight, like the step benchmark. Returns the round-trip times in ms.
 */
export async function measureFloor(target: NodeConnectionOptions, n: number): Promise<{ p50Ms: number; p99Ms: number; perSec: number }> {
  const a = await connect(target);
  const b = await connect(target);
  const jsm = await jetstreamManager(a);
  for (const [name, subj, retention] of [['FLOOR_CMD', 'floor.cmd', RetentionPolicy.Workqueue], ['FLOOR_RES', 'floor.res', RetentionPolicy.Workqueue]] as const)
    await jsm.streams.add({ name, subjects: [subj], retention, storage: StorageType.File });
  await jsm.consumers.add('FLOOR_CMD', { durable_name: 'worker', ack_policy: AckPolicy.Explicit });
  await jsm.consumers.add('FLOOR_RES', { durable_name: 'client', ack_policy: AckPolicy.Explicit });
  const jsA = jetstream(a);
  const jsB = jetstream(b);
  const worker = await (await jsB.consumers.get('FLOOR_CMD', 'worker')).consume({ max_messages: 1 });
  void (async () => {
    for await (const m of worker) {
      m.ack();
      await jsB.publish('floor.res', m.data, { msgID: `res-${m.seq}` });
    }
  })();
  const results = await (await jsA.consumers.get('FLOOR_RES', 'client')).consume({ max_messages: 1 });
  const it = results[Symbol.asyncIterator]();
  const times: number[] = [];
  const payload = new TextEncoder().encode(JSON.stringify({ runId: 'r', stepId: 's', attempt: 1, pad: 'x'.repeat(400) }));
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await jsA.publish('floor.cmd', payload, { msgID: `cmd-${i}` });
    const r = await it.next();
    if (r.done) throw new Error('result stream ended');
    r.value.ack();
    times.push(performance.now() - t0);
  }
  const elapsed = performance.now() - started;
  worker.stop();
  results.stop();
  await a.drain();
  await b.drain();
  return { p50Ms: percentile(times, 50), p99Ms: percentile(times, 99), perSec: (n / elapsed) * 1000 };
}
