// A real 3-node nats-server cluster with JetStream on loopback, for the tests and benchmarks of the
// production topology (R3 streams and KV buckets). Each node binds its client and monitoring ports
// itself (`-p -1 -m -1`) and reports them in a ports file, like nats-server.ts; the route ports cannot
// be chosen that way (every node's config names the others' routes before any of them starts), so they
// are picked as free and the whole cluster is started again on fresh ones while one was taken. A node
// can be killed (a crash) and restarted on the same ports and store.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { requireBinary } from './binaries.js';
import { launch, Node, RANDOM_PORT, writeNodeConfig } from './nats-cluster-node.js';
import type { Layout, NatsClusterNode, Run } from './nats-cluster-node.js';
import { freePort, isAddressInUse, retryWhilePortsTaken } from './ports.js';
import { makeTempDir, removeDir } from './temp-dir.js';
import { waitFor } from './wait.js';

/** How long the cluster may take to elect a JetStream meta leader that every running node follows. */
export const NATS_CLUSTER_FORM_TIMEOUT_MS = 60_000;
/** How long `stop()` waits for each node after SIGTERM before SIGKILL. */
const NODE_STOP_GRACE_MS = 10_000;
/** Fresh sets of route ports to try when another process took one before the cluster bound it. */
const PORT_ATTEMPTS = 4;

export type { NatsClusterNode } from './nats-cluster-node.js';

export interface NatsClusterOptions {
  /** Number of nodes. @default 3 (R3 streams need three; quorum is two) */
  size?: number;
  /** Print every node's output to stderr, prefixed with `[nats-n1]`, …. @default false */
  echo?: boolean;
}

export interface NatsClusterHandle {
  /** Every node's URL, comma-joined: what `NATS_URL` takes (clients fail over between them). */
  readonly url: string;
  readonly nodes: readonly NatsClusterNode[];
  /** The JetStream meta leader's `server_name`, as a running node reports it; undefined while there is none. */
  metaLeader(): Promise<string | undefined>;
  /**
   * The running node that leads a stream (KV bucket `B` is stream `KV_B`) and says so itself in its
   * /jsz; undefined while none does (an election). Asked of the nodes, not of a client, so that a
   * client's reconnect does not delay the answer.
   */
  streamLeader(stream: string): Promise<string | undefined>;
  /** Waits until every running node follows one meta leader and reports itself healthy (/healthz). */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** SIGKILL node `i` (0-based) and wait for its exit; its store stays (a crash). */
  kill(i: number): Promise<void>;
  /** Start node `i` again on the same ports and store; resolves when the cluster is healthy again. */
  restart(i: number): Promise<void>;
  /** SIGTERM every node (bounded, then SIGKILL) and remove the temporary folder. */
  stop(): Promise<void>;
}

/**
 * Starts `size` nats-server processes, each with a generated config (`server_name`, JetStream store,
 * `cluster { name, listen, routes }`), all at once, and waits until they have elected a JetStream meta
 * leader and every node answers /healthz with 200.
 */
export async function startNatsCluster(opts: NatsClusterOptions = {}): Promise<NatsClusterHandle> {
  const size = opts.size ?? 3;
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`size must be a positive integer, not ${size}`);
  const binary = requireBinary('nats-server');
  const workDir = await makeTempDir('nats-cluster');
  try {
    let attempt = 0;
    const cluster = await retryWhilePortsTaken('nats-server cluster', PORT_ATTEMPTS, async () => {
      // A folder per attempt: a node of a failed attempt may have written to its store.
      const attemptDir = join(workDir, String(++attempt));
      const routePorts = await distinctFreePorts(size);
      const name = `pw-${randomBytes(4).toString('hex')}`;
      const nodes = await Promise.all(routePorts.map((_, i) => writeNodeConfig(attemptDir, name, i, routePorts)));
      const layout = { binary, echo: opts.echo === true };
      const runs = await Promise.allSettled(nodes.map((node) => launch(layout, node, RANDOM_PORT)));
      const failed = runs.find((r) => r.status === 'rejected');
      if (failed !== undefined) {
        await Promise.all(runs.flatMap((r) => (r.status === 'fulfilled' ? [r.value.proc.kill()] : [])));
        throw failed.reason;
      }
      return new NatsCluster(workDir, layout, nodes.map((node, i) => new Node(node, (runs[i] as PromiseFulfilledResult<Run>).value)));
    });
    try {
      await cluster.waitHealthy();
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  } catch (err) {
    await removeDir(workDir);
    throw err;
  }
}


class NatsCluster implements NatsClusterHandle {
  readonly url: string;
  private removed = false;

  constructor(
    private readonly workDir: string,
    private readonly layout: Layout,
    readonly nodes: readonly Node[],
  ) {
    this.url = nodes.map((n) => n.url).join(',');
  }

  async metaLeader(): Promise<string | undefined> {
    for (const node of this.nodes.filter((n) => n.running)) {
      const leader = await node.metaLeader().catch(() => undefined);
      if (leader !== undefined) return leader;
    }
    return undefined;
  }

  async streamLeader(stream: string): Promise<string | undefined> {
    const running = this.nodes.filter((n) => n.running);
    const leads = await Promise.all(running.map((n) => n.leads(stream).catch(() => false)));
    return running.find((_, i) => leads[i])?.name;
  }

  async waitHealthy(timeoutMs = NATS_CLUSTER_FORM_TIMEOUT_MS): Promise<void> {
    const running = this.nodes.filter((n) => n.running);
    await waitFor(
      `nats cluster (${running.map((n) => n.name).join(', ')}) to follow one JetStream meta leader and be healthy`,
      async () => {
        const leaders = new Set(await Promise.all(running.map((n) => n.metaLeader())));
        const [leader] = leaders;
        if (leaders.size !== 1 || leader === undefined || !running.some((n) => n.name === leader)) return undefined;
        return (await Promise.all(running.map((n) => n.healthy()))).every(Boolean) ? true : undefined;
      },
      { timeoutMs, intervalMs: 100 },
    );
  }

  async kill(i: number): Promise<void> {
    const node = this.node(i);
    await node.run.proc.kill();
    node.running = false;
  }

  async restart(i: number): Promise<void> {
    const node = this.node(i);
    if (this.removed) throw new Error(`the cluster was stopped and its files removed; ${node.name} cannot restart`);
    await node.run.proc.stop(NODE_STOP_GRACE_MS);
    node.running = false;
    try {
      node.run = await launch(this.layout, node.files, node.port, node.run.seq + 1);
    } catch (err) {
      if (!isAddressInUse(err)) throw err;
      throw new Error(`${node.name} cannot restart on ports ${node.port}/${node.routePort}: another process bound one while it was down\n${err.message}`, { cause: err });
    }
    node.running = true;
    await this.waitHealthy();
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.run.proc.stop(NODE_STOP_GRACE_MS)));
    for (const n of this.nodes) n.running = false;
    if (this.removed) return;
    this.removed = true;
    await removeDir(this.workDir);
  }

  private node(i: number): Node {
    const node = this.nodes[i];
    if (node === undefined) throw new RangeError(`no node ${i} in a cluster of ${this.nodes.length}`);
    return node;
  }
}

async function distinctFreePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}
