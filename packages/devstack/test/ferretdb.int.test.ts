import { connect } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { Stack, binDir, canConnect, ferretDbAvailable, startFerretDb } from '../src/index.js';

const available = ferretDbAvailable();
if (!available) console.warn(`FerretDB tests skipped: no ferretdb in ${binDir()} or $PW_FERRETDB (run scripts/ensure-servers.sh ferretdb)`);

const stack = new Stack();
afterAll(() => stack.stopAll());

/** Encodes a flat BSON document of int32 and string fields. */
function bson(fields: Record<string, number | string>): Buffer {
  const parts: Buffer[] = [];
  for (const [key, value] of Object.entries(fields)) {
    const name = Buffer.from(`${key}\0`);
    if (typeof value === 'number') {
      const n = Buffer.alloc(4);
      n.writeInt32LE(value);
      parts.push(Buffer.from([0x10]), name, n);
    } else {
      const s = Buffer.from(`${value}\0`);
      const len = Buffer.alloc(4);
      len.writeInt32LE(s.length);
      parts.push(Buffer.from([0x02]), name, len, s);
    }
  }
  const body = Buffer.concat([...parts, Buffer.from([0])]);
  const size = Buffer.alloc(4);
  size.writeInt32LE(body.length + 4);
  return Buffer.concat([size, body]);
}

/** Reads the top-level numeric, boolean and string fields of a BSON document (others are skipped). */
function readBson(doc: Buffer): Record<string, number | string | boolean> {
  const out: Record<string, number | string | boolean> = {};
  let at = 4;
  while (at < doc.length - 1) {
    const type = doc[at]!;
    const nameEnd = doc.indexOf(0, at + 1);
    const name = doc.subarray(at + 1, nameEnd).toString('utf8');
    at = nameEnd + 1;
    switch (type) {
      case 0x01: out[name] = doc.readDoubleLE(at); at += 8; break;
      case 0x02: { const len = doc.readInt32LE(at); out[name] = doc.subarray(at + 4, at + 4 + len - 1).toString('utf8'); at += 4 + len; break; }
      case 0x03: case 0x04: at += doc.readInt32LE(at); break;
      case 0x07: at += 12; break;
      case 0x08: out[name] = doc[at] === 1; at += 1; break;
      case 0x09: case 0x11: case 0x12: at += 8; break;
      case 0x0a: break;
      case 0x10: out[name] = doc.readInt32LE(at); at += 4; break;
      default: throw new Error(`unsupported BSON type 0x${type.toString(16)} for ${name}`);
    }
  }
  return out;
}

/** Sends one OP_MSG command and returns the reply document's top-level fields. */
function command(port: number, doc: Record<string, number | string>): Promise<Record<string, number | string | boolean>> {
  const OP_MSG = 2013;
  const body = Buffer.concat([Buffer.alloc(4) /* flagBits */, Buffer.from([0]) /* section kind 0 */, bson(doc)]);
  const header = Buffer.alloc(16);
  header.writeInt32LE(16 + body.length, 0);
  header.writeInt32LE(1, 4); // requestID
  header.writeInt32LE(0, 8); // responseTo
  header.writeInt32LE(OP_MSG, 12);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let received = Buffer.alloc(0);
    socket.setTimeout(5_000, () => socket.destroy(new Error('no reply within 5 s')));
    socket.once('error', reject);
    socket.once('connect', () => socket.write(Buffer.concat([header, body])));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 4 || received.length < received.readInt32LE(0)) return;
      socket.destroy();
      if (received.readInt32LE(12) !== OP_MSG) return reject(new Error(`unexpected opCode ${received.readInt32LE(12)}`));
      resolve(readBson(received.subarray(21, received.readInt32LE(0))));
    });
  });
}

describe('startFerretDb', () => {
  it.skipIf(!available)('starts FerretDB on SQLite, answers a MongoDB hello, and stops', async () => {
    const ferret = await startFerretDb();
    stack.add('ferretdb', () => ferret.stop());
    expect(ferret.url).toBe(`mongodb://127.0.0.1:${ferret.port}/?retryWrites=false&directConnection=true`);

    const hello = await command(ferret.port, { hello: 1, $db: 'admin' });
    expect(hello.ok).toBe(1);
    expect(hello.isWritablePrimary).toBe(true);
    expect(hello.maxWireVersion).toBeGreaterThanOrEqual(17);

    const build = await command(ferret.port, { buildInfo: 1, $db: 'admin' });
    expect(build.ok).toBe(1);
    expect(String(build.ferretdbVersion ?? build.version)).toMatch(/\d+\.\d+/);

    await ferret.stop();
    expect(await canConnect('127.0.0.1', ferret.port)).toBe(false);
  });

  it.skipIf(!available)('runs two instances side by side on different ports', async () => {
    const [a, b] = await Promise.all([startFerretDb(), startFerretDb()]);
    stack.add('ferretdb a', () => a.stop());
    stack.add('ferretdb b', () => b.stop());
    expect(a.port).not.toBe(b.port);
    // Each bound a port of its own choosing (--listen-addr=127.0.0.1:0) and said which.
    expect(a.output()).toContain(`Listening on TCP 127.0.0.1:${a.port}`);
    expect(b.output()).toContain(`Listening on TCP 127.0.0.1:${b.port}`);
    expect((await command(a.port, { ping: 1, $db: 'admin' })).ok).toBe(1);
    expect((await command(b.port, { ping: 1, $db: 'admin' })).ok).toBe(1);
  });

  it.skipIf(!available)('fails with its output when a port it was given is taken', async () => {
    const first = await startFerretDb();
    stack.add('ferretdb first', () => first.stop());
    await expect(startFerretDb({ port: first.port })).rejects.toThrow(/ferretdb exited with code \d+ before it was ready[\s\S]*address already in use/);
  });
});
