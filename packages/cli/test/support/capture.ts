import type { Io } from '../../src/cli/io.js';
import { runCli } from '../../src/cli/program.js';

/** Runs a command line in-process, as the bin does, and keeps what it wrote. */
export async function cli(argv: string[], env: Record<string, string> = {}, color = false): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (t) => out.push(t), err: (t) => err.push(t), color, errColor: color };
  const code = await runCli(argv, io, env);
  return { code, out: out.join('\n'), err: err.join('\n') };
}
