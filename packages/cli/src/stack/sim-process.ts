// The model simulator as a process of its own, as the local stack, the end-to-end tests and the
// benchmarks run it.
import { startProcess } from '@pipewright/devstack';
import type { ProcessHandle } from '@pipewright/devstack';
import { inheritedEnv } from '../config.js';
import { REPO_ROOT } from './repo-root.js';
import { SIM_PORT } from './service-ports.js';
import { SimClient } from './sim-client.js';

export interface SimProcessOptions {
  /** Its configuration file (YAML or JSON: scripts, faults, latency), as `--config`. */
  configFile?: string;
  /** Print its output, prefixed with its name. */
  echo?: boolean;
  /** Append its output to this file. */
  logFile?: string;
}

export interface SimProcess {
  readonly proc: ProcessHandle;
  /** Its admin and OpenAI endpoints, on the port it reported. */
  readonly client: SimClient;
}

/**
 * Starts `pw-llm-sim --port 0 [--config FILE]` and reads the port it bound from its ready line. It does
 * not inherit the caller's PW_SIM_* variables: what it runs with is what it is given.
 */
export async function startSimProcess(opts: SimProcessOptions = {}): Promise<SimProcess> {
  const proc = await startProcess({
    name: 'llm-sim',
    command: process.execPath,
    args: [`${REPO_ROOT}packages/llm-sim/dist/bin/llm-sim.js`, '--port', '0', ...(opts.configFile !== undefined ? ['--config', opts.configFile] : [])],
    inheritEnv: false,
    env: inheritedEnv(),
    reportedPorts: { http: SIM_PORT },
    ...(opts.echo === true ? { echo: true } : {}),
    ...(opts.logFile !== undefined ? { logFile: opts.logFile } : {}),
  });
  return { proc, client: new SimClient(`http://127.0.0.1:${proc.port('http')}`) };
}
