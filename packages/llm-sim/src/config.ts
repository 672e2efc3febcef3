// Process configuration of the `pw-llm-sim` binary: command-line flags over environment variables.
// An empty environment variable means unset; a present but bad value is an error (fail fast).
import { parseArgs } from 'node:util';

export interface ProcessConfig {
  /** `--port` / `PW_SIM_PORT`; 0 picks a free port. @default 0 */
  port: number;
  /** `--host` / `PW_SIM_HOST`. @default '127.0.0.1' */
  host: string;
  /** `--config` / `PW_SIM_CONFIG`: a YAML or JSON SimConfig file. */
  configPath: string | undefined;
}

export const USAGE = `usage: pw-llm-sim [--port N] [--host ADDR] [--config FILE]
  env: PW_SIM_PORT, PW_SIM_HOST, PW_SIM_CONFIG (flags win)`;

const nonEmpty = (v: string | undefined): string | undefined => (v === undefined || v.trim() === '' ? undefined : v.trim());

function parsePort(raw: string, source: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) throw new Error(`${source} must be a port number in [0, 65535]; got '${raw}'`);
  return n;
}

/** Reads flags and environment; throws with a clear message on a bad value. */
export function readProcessConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ProcessConfig & { help: boolean } {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      config: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  const portFlag = nonEmpty(values.port);
  const portEnv = nonEmpty(env['PW_SIM_PORT']);
  return {
    port: portFlag !== undefined ? parsePort(portFlag, '--port') : portEnv !== undefined ? parsePort(portEnv, 'PW_SIM_PORT') : 0,
    host: nonEmpty(values.host) ?? nonEmpty(env['PW_SIM_HOST']) ?? '127.0.0.1',
    configPath: nonEmpty(values.config) ?? nonEmpty(env['PW_SIM_CONFIG']),
    help: values.help === true,
  };
}
