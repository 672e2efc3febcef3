#!/usr/bin/env node
// pw-llm-sim: run the simulator as a process. Prints one JSON line when listening; closes cleanly on
// SIGTERM/SIGINT (hung requests included) and exits 0.
import { readProcessConfig, USAGE } from '../config.js';
import { loadSimConfig } from '../load-config.js';
import { startSimulator } from '../server.js';

async function main(): Promise<void> {
  let cfg: ReturnType<typeof readProcessConfig>;
  try {
    cfg = readProcessConfig(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (cfg.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const config = cfg.configPath === undefined ? {} : loadSimConfig(cfg.configPath);
  const sim = await startSimulator({ port: cfg.port, host: cfg.host, config });
  process.stdout.write(`${JSON.stringify({ msg: 'llm-sim listening', url: sim.url, port: sim.port })}\n`);

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    sim.close().then(
      () => {
        process.stdout.write(`${JSON.stringify({ msg: 'llm-sim closed', signal })}\n`);
        process.exit(0);
      },
      (err: unknown) => {
        process.stderr.write(`${JSON.stringify({ msg: 'llm-sim close failed', err: String(err) })}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`${JSON.stringify({ msg: 'llm-sim failed to start', err: (err as Error).message ?? String(err) })}\n`);
  process.exit(1);
});
