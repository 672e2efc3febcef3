import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Stack, canConnect, httpGet, startNatsServer } from '../src/index.js';
import { RawNats, readInfo } from './raw-nats.js';

const stack = new Stack();
afterAll(() => stack.stopAll());

interface StreamInfo {
  state?: { messages: number };
  error?: { description: string };
}

describe('startNatsServer', () => {
  it('starts a JetStream server on free loopback ports and answers INFO over raw TCP', async () => {
    const nats = await startNatsServer();
    stack.add('nats', () => nats.stop());
    expect(nats.url).toBe(`nats://127.0.0.1:${nats.port}`);
    expect(nats.monitorPort).not.toBe(nats.port);

    const { line, info } = await readInfo(nats.port);
    expect(line.startsWith('INFO {')).toBe(true);
    expect(info.port).toBe(nats.port);
    expect(info.jetstream).toBe(true);
    const [major, minor] = info.version.split('.').map(Number);
    expect(major! > 2 || (major === 2 && minor! >= 10)).toBe(true);

    const varz = await httpGet(`http://127.0.0.1:${nats.monitorPort}/varz`);
    expect(varz.status).toBe(200);
    expect((JSON.parse(varz.body) as { port: number }).port).toBe(nats.port);

    await nats.stop();
    expect(await canConnect('127.0.0.1', nats.port)).toBe(false);
    expect(existsSync(nats.storeDir)).toBe(false);
    await nats.stop(); // idempotent
  });

  it('binds ports of its own choosing and reports them: servers started at once all answer on theirs', async () => {
    const servers = await Promise.all([startNatsServer(), startNatsServer(), startNatsServer()]);
    servers.forEach((nats, i) => stack.add(`nats parallel ${i}`, () => nats.stop()));
    const ports = servers.flatMap((nats) => [nats.port, nats.monitorPort]);
    expect(new Set(ports).size).toBe(ports.length);
    for (const nats of servers) {
      // The server picked the port (-p -1) and said so; devstack did not pick it first.
      expect(nats.output()).toContain(`Listening for client connections on 127.0.0.1:${nats.port}`);
      expect(nats.output()).toContain(`Starting http monitor on 127.0.0.1:${nats.monitorPort}`);
      expect((await readInfo(nats.port)).info.port).toBe(nats.port);
      expect((await httpGet(`http://127.0.0.1:${nats.monitorPort}/healthz?js-enabled-only=true`)).status).toBe(200);
    }
    await Promise.all(servers.map((nats) => nats.stop()));
  });

  it('keeps the stream after kill and restart on the same port and store', async () => {
    const nats = await startNatsServer();
    stack.add('nats crash', () => nats.stop());
    const before = { port: nats.port, storeDir: nats.storeDir };

    const client = await RawNats.connect(nats.port);
    await client.handshake();
    const created = JSON.parse(
      await client.request('$JS.API.STREAM.CREATE.CRASH', JSON.stringify({ name: 'CRASH', subjects: ['crash.>'], storage: 'file' })),
    ) as StreamInfo;
    expect(created.error).toBeUndefined();
    const ack = JSON.parse(await client.request('crash.one', 'hello')) as { stream: string; seq: number };
    expect(ack).toMatchObject({ stream: 'CRASH', seq: 1 });
    client.close();

    await nats.kill();
    expect(await canConnect('127.0.0.1', nats.port)).toBe(false);
    expect(existsSync(nats.storeDir)).toBe(true);

    await nats.restart();
    expect({ port: nats.port, storeDir: nats.storeDir }).toEqual(before);
    // The monitoring port is the server's choice again; the handle follows it.
    expect((await httpGet(`http://127.0.0.1:${nats.monitorPort}/healthz?js-enabled-only=true`)).status).toBe(200);
    const again = await RawNats.connect(nats.port);
    await again.handshake();
    const info = JSON.parse(await again.request('$JS.API.STREAM.INFO.CRASH', '')) as StreamInfo;
    again.close();
    expect(info.error).toBeUndefined();
    expect(info.state?.messages).toBe(1);

    // A restart of a running server stops it first.
    await nats.restart();
    expect((await readInfo(nats.port)).info.port).toBe(nats.port);
  });

  it('applies syncAlways and maxPayload through a generated config file', async () => {
    const nats = await startNatsServer({ syncAlways: true, maxPayload: 2 * 1024 * 1024 });
    stack.add('nats sync', () => nats.stop());
    const { info } = await readInfo(nats.port);
    expect(info.max_payload).toBe(2 * 1024 * 1024);
    const varz = JSON.parse((await httpGet(`http://127.0.0.1:${nats.monitorPort}/varz`)).body) as {
      jetstream: { config: { sync_always?: boolean; store_dir: string } };
    };
    expect(varz.jetstream.config.sync_always).toBe(true);
    expect(varz.jetstream.config.store_dir.startsWith(nats.storeDir)).toBe(true);
    await nats.stop();
  });

  it('keeps the store with keepStore, and never removes a store folder it was given', async () => {
    const kept = await startNatsServer({ keepStore: true });
    await kept.stop();
    expect(readdirSync(kept.storeDir)).toContain('jetstream');
    rmSync(join(kept.storeDir, '..'), { recursive: true, force: true });

    const given = mkdtempSync(join(tmpdir(), 'pw-devstack-test-'));
    try {
      const nats = await startNatsServer({ storeDir: given });
      expect(nats.storeDir).toBe(given);
      await nats.stop();
      expect(readdirSync(given)).toContain('jetstream');
    } finally {
      rmSync(given, { recursive: true, force: true });
    }
  });

  it('fails with the server output when the port is taken', async () => {
    const first = await startNatsServer();
    stack.add('nats first', () => first.stop());
    await expect(startNatsServer({ port: first.port })).rejects.toThrow(/nats-server exited with code 1 before it was ready[\s\S]*address already in use/);
    await first.stop();
  });

  it('fails to restart, saying why, when another process took its port while it was down', async () => {
    const nats = await startNatsServer();
    stack.add('nats displaced', () => nats.stop());
    await nats.kill();
    const squatter = await startNatsServer({ port: nats.port });
    stack.add('nats squatter', () => squatter.stop());
    await expect(nats.restart()).rejects.toThrow(new RegExp(`nats-server cannot restart on port ${nats.port}: another process bound it while the server was down[\\s\\S]*address already in use`));
    await squatter.stop();
    await nats.restart();
    expect((await readInfo(nats.port)).info.port).toBe(nats.port);
    await nats.stop();
  });
});
