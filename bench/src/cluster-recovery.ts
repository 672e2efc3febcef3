// How long a 3-node JetStream cluster stops taking writes when the leader of an R3 stream is SIGKILLed:
// the floor under Pipewright's own recovery on a cluster (test/cluster/node-kill.test.ts measures that
// end to end, through the services). A client connected to all three nodes publishes one message at a
// time; the leader is killed; the figure is the time from the kill to the first acknowledged publish.
// The killed node is then restarted on its ports and store and must catch up (the cluster healthy).
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { startNatsCluster, waitFor } from '@pipewright/devstack';
import { percentile } from './lib/stats.js';

const TRIALS = 5;
const STREAM = 'BENCH_FAILOVER';
/** A publish that gets no ack within this is tried again (an election leaves requests unanswered). */
const PUBLISH_TIMEOUT_MS = 1_000;
/** Bounds of one trial's waits: far above any election nats-server makes. */
const WAIT_MS = 60_000;

export async function clusterRecoveryBench(): Promise<Record<string, unknown>> {
  const cluster = await startNatsCluster();
  const nc = await connect({ servers: cluster.url.split(','), maxReconnectAttempts: -1, reconnectTimeWait: 250 });
  const failover: number[] = [];
  const election: number[] = [];
  const rejoin: number[] = [];
  let lastAck = 0;
  let stopped = false;
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: STREAM, subjects: ['bench.failover'], num_replicas: 3 });
    const js = jetstream(nc);
    const publishing = (async () => {
      while (!stopped) {
        try {
          await js.publish('bench.failover', 'x', { timeout: PUBLISH_TIMEOUT_MS });
          lastAck = Date.now();
        } catch {
          // No leader yet (no responders) or no ack in time: the client tries again, as services do.
        }
      }
    })();
    for (let trial = 0; trial < TRIALS; trial++) {
      const leader = await waitFor('a stream leader', () => cluster.streamLeader(STREAM), { timeoutMs: WAIT_MS });
      const victim = cluster.nodes.findIndex((n) => n.name === leader);
      const killAt = Date.now();
      await cluster.kill(victim);
      await waitFor('a new stream leader', () => cluster.streamLeader(STREAM), { timeoutMs: WAIT_MS, intervalMs: 20 });
      election.push(Date.now() - killAt);
      await waitFor('a publish acknowledged after the kill', () => (lastAck > killAt ? true : undefined), { timeoutMs: WAIT_MS, intervalMs: 10 });
      failover.push(lastAck - killAt);
      const restartAt = Date.now();
      await cluster.restart(victim);
      rejoin.push(Date.now() - restartAt);
    }
    stopped = true;
    await publishing;
  } finally {
    stopped = true;
    await nc.close();
    await cluster.stop();
  }
  return {
    name: 'cluster-recovery',
    nodes: cluster.nodes.length,
    replicas: 3,
    trials: TRIALS,
    failoverP50Ms: percentile(failover, 50),
    failoverMaxMs: Math.max(...failover),
    electionP50Ms: percentile(election, 50),
    rejoinP50Ms: percentile(rejoin, 50),
    rejoinMaxMs: Math.max(...rejoin),
    failoverMs: failover,
  };
}
