// A real 3-node nats-server cluster with JetStream on loopback, for the tests and benchmarks of the
// production topology (R3 streams and KV buckets). Each node binds its client and monitoring ports
// itself (`-p -1 -m -1`) and reports them in a ports file, like nats-server.ts; the route ports cannot
// be chosen that way (every node's config names the others' routes before any of them starts), so they
// are picked as free and the whole cluster is started again on fresh ones while one was taken. A node
// can be killed (a crash) and restarted on the same ports and store.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { requireBinary } from './binaries.js';
import { readNatsPortsFile } from './nats-ports-file.js';
import type { NatsBoundPorts } from './nats-ports-file.js';
import { freePort, isAddressInUse, retryWhilePortsTaken } from './ports.js';
import { httpGet } from './probes.js';
import { startProcess } from './process.js';
import type { ProcessHandle } from './process.js';
import { makeTempDir, removeDir } from './temp-dir.js';
import { waitFor } from './wait.js';

/** How long one node may take to answer /healthz?js-enabled-only=true after it started. */
export const NATS_NODE_READY_TIMEOUT_MS = 30_000;
/** How long the cluster may take to elect a JetStream meta leader that every running node follows. */
export const NATS_CLUSTER_FORM_TIMEOUT_MS = 60_000;
/** How long `stop()` waits for each node after SIGTERM before SIGKILL. */
const NODE_STOP_GRACE_MS = 10_000;
/** Fresh sets of route ports to try when another process took one before the cluster bound it. */
const PORT_ATTEMPTS = 4;
/** nats-server's RANDOM_PORT: bind a port of the kernel's choosing. */
const RANDOM_PORT = -1;

export interface NatsClusterOptions {
  /** Number of nodes. @default 3 (R3 streams need three; quorum is two) */
  size?: number;
  /** Print every node's output to stderr, prefixed with `[nats-N]`. @default false */
  echo?: boolean;
}

/** One node of the cluster. Ports stay the same across restarts, except the monitoring port. */
export interface NatsClusterNode {
  /** `server_name`, as JetStream reports it (stream leaders, meta leader): `n1`, `n2`, … */
  readonly name: string;
  /** `nats://127.0.0.1:PORT` of this node alone. */
  readonly url: string;
  readonly port: number;
  /** The route listener (`cluster { listen }`). */
  readonly routePort: number;
  /** HTTP monitoring port (/jsz, /healthz) of the current process; chosen anew on each restart. */
  readonly monitorPort: number;
  readonly storeDir: string;
  readonly pid: number;
  /** False between `kill` and `restart`. */
  readonly running: boolean;
  /** The last ~200 lines of the node's output. */
  output(): string;
}

export interface NatsClusterHandle {
  /** Every node's URL, comma-joined: what `NATS_URL` takes (clients fail over between them). */
  readonly url: string;
  readonly nodes: readonly NatsClusterNode[];
  /** The JetStream meta leader's `server_name`, as a running node reports it; undefined while there is none. */
  metaLeader(): Promise<string | undefined>;
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

interface Layout {
  binary: string;
  echo: boolean;
}

/** What stays the same across a node's restarts. */
interface NodeFiles {
  index: number;
  name: string;
  dir: string;
  configFile: string;
  storeDir: string;
  routePort: number;
}

interface Run {
  proc: ProcessHandle;
  ports: NatsBoundPorts;
  seq: number;
}

async function distinctFreePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

async function writeNodeConfig(workDir: string, clusterName: string, index: number, routePorts: readonly number[]): Promise<NodeFiles> {
  const name = `n${index + 1}`;
  const dir = join(workDir, name);
  const storeDir = join(dir, 'store');
  await mkdir(storeDir, { recursive: true });
  const routePort = routePorts[index]!;
  const lines = [
    '# generated by @pipewright/devstack (nats-cluster.ts)',
    `server_name: ${name}`,
    `jetstream { store_dir: ${JSON.stringify(storeDir)} }`,
    'cluster {',
    `  name: ${clusterName}`,
    `  listen: "127.0.0.1:${routePort}"`,
    // Its own route too: every node gets the same list, and a server skips a route to itself.
    `  routes: [${routePorts.map((p) => `"nats-route://127.0.0.1:${p}"`).join(', ')}]`,
    '}',
    '',
  ];
  const configFile = join(dir, 'nats-server.conf');
  await writeFile(configFile, lines.join('\n'));
  return { index, name, dir, configFile, storeDir, routePort };
}

/** Starts one node (client port `port`, or one of its choosing) and waits until JetStream is enabled. */
async function launch(layout: Layout, node: NodeFiles, port: number, seq = 1): Promise<Run> {
  // A folder per start: a killed server leaves its ports file behind.
  const portsDir = join(node.dir, 'ports', String(seq));
  await mkdir(portsDir, { recursive: true });
  let ports: NatsBoundPorts | undefined;
  const proc = await startProcess({
    name: `nats-${node.name}`,
    command: layout.binary,
    args: ['-c', node.configFile, '-js', '-a', '127.0.0.1', '-p', String(port), '-m', String(RANDOM_PORT), '--ports_file_dir', portsDir],
    readyCheck: async () => {
      ports ??= await readNatsPortsFile(portsDir);
      // js-enabled-only: a lone node of a cluster has no meta leader, so the full check waits for its peers.
      return ports !== undefined && (await httpGet(`http://127.0.0.1:${ports.monitor}/healthz?js-enabled-only=true`)).status === 200;
    },
    readyTimeoutMs: NATS_NODE_READY_TIMEOUT_MS,
    echo: layout.echo,
  });
  if (ports === undefined) throw new Error('nats-server was ready before its ports were read: a bug in devstack');
  return { proc, ports, seq };
}

class Node implements NatsClusterNode {
  readonly port: number;
  readonly url: string;
  running = true;

  constructor(
    readonly files: NodeFiles,
    public run: Run,
  ) {
    this.port = run.ports.client;
    this.url = `nats://127.0.0.1:${this.port}`;
  }

  get name(): string {
    return this.files.name;
  }
  get routePort(): number {
    return this.files.routePort;
  }
  get storeDir(): string {
    return this.files.storeDir;
  }
  get monitorPort(): number {
    return this.run.ports.monitor;
  }
  get pid(): number {
    return this.run.proc.pid;
  }
  output(): string {
    return this.run.proc.output();
  }

  /** The meta leader this node reports (`/jsz`), or undefined. */
  async metaLeader(): Promise<string | undefined> {
    const res = await httpGet(`http://127.0.0.1:${this.monitorPort}/jsz`);
    if (res.status !== 200) return undefined;
    const leader = (JSON.parse(res.body) as { meta_cluster?: { leader?: string } }).meta_cluster?.leader;
    return leader === undefined || leader === '' ? undefined : leader;
  }

  /** Full /healthz: JetStream is current (meta, streams and consumers caught up). */
  async healthy(): Promise<boolean> {
    return (await httpGet(`http://127.0.0.1:${this.monitorPort}/healthz`)).status === 200;
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
