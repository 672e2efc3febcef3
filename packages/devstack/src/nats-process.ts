// One start of a nats-server process: bound ports read from its ports file, ready once JetStream is
// enabled (`/healthz?js-enabled-only=true`: a lone node of a cluster has no meta leader yet, so the full
// check would wait for its peers). Shared by a single server and by each node of a cluster.
import { readNatsPortsFile, type NatsBoundPorts } from './nats-ports-file.js';
import { httpGet } from './probes.js';
import { startProcess, type ProcessHandle } from './process.js';

export interface NatsProcessOptions {
  name: string;
  binary: string;
  /** Arguments; must include `--ports_file_dir <portsDir>`. */
  args: string[];
  /** A folder of its own for this start: a killed server leaves its ports file behind. */
  portsDir: string;
  readyTimeoutMs: number;
  echo: boolean;
}

export async function startNatsProcess(o: NatsProcessOptions): Promise<{ proc: ProcessHandle; ports: NatsBoundPorts }> {
  let ports: NatsBoundPorts | undefined;
  const proc = await startProcess({
    name: o.name,
    command: o.binary,
    args: o.args,
    readyCheck: async () => {
      ports ??= await readNatsPortsFile(o.portsDir);
      return ports !== undefined && (await httpGet(`http://127.0.0.1:${ports.monitor}/healthz?js-enabled-only=true`)).status === 200;
    },
    readyTimeoutMs: o.readyTimeoutMs,
    echo: o.echo,
  });
  if (ports === undefined) throw new Error('nats-server was ready before its ports were read: a bug in devstack');
  return { proc, ports };
}
