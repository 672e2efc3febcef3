// nats-server's ports file: started with `--ports_file_dir DIR`, the server writes
// `DIR/<executable>_<pid>.ports` once its listeners are bound, e.g.
// `{"nats":["nats://127.0.0.1:4222"],"monitoring":["http://127.0.0.1:8222"]}`. With `-p -1` and
// `-m -1` those are ports of the kernel's choosing, which is how devstack learns them without guessing.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The ports a nats-server bound. */
export interface NatsBoundPorts {
  client: number;
  monitor: number;
}

/**
 * Reads the ports file in `dir` (a folder of its own for one server start); undefined until the file
 * is there and complete. The server writes it without a rename, so a half-written file reads as "not
 * yet" rather than as an error.
 */
export async function readNatsPortsFile(dir: string): Promise<NatsBoundPorts | undefined> {
  const name = (await readdir(dir)).find((file) => file.endsWith('.ports'));
  if (name === undefined) return undefined;
  let ports: unknown;
  try {
    ports = JSON.parse(await readFile(join(dir, name), 'utf8'));
  } catch {
    return undefined;
  }
  if (typeof ports !== 'object' || ports === null) return undefined;
  const fields = ports as Record<string, unknown>;
  const client = firstPort(fields['nats']);
  const monitor = firstPort(fields['monitoring']);
  return client === undefined || monitor === undefined ? undefined : { client, monitor };
}

/** The port of the first URL in a ports-file list (`["nats://127.0.0.1:4222"]`). */
function firstPort(urls: unknown): number | undefined {
  if (!Array.isArray(urls) || typeof urls[0] !== 'string') return undefined;
  try {
    const port = Number(new URL(urls[0]).port);
    return Number.isInteger(port) && port > 0 ? port : undefined;
  } catch {
    return undefined;
  }
}
