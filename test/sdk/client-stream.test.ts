import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PipewrightClient, type StreamedEvent } from '@pipewright/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * A stream that goes silent without closing (a half-open connection: a proxy or a peer that vanished)
 * must not hang `events` for ever. The server here is an HTTP endpoint that behaves so on purpose — the
 * console never does — so it stands in for the network, not for the console's logic.
 */
describe('PipewrightClient event stream, silent connection', () => {
  const requests: IncomingHttpHeaders[] = [];
  const open: ServerResponse[] = [];
  const server = createServer((req, res) => {
    requests.push(req.headers);
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const event = (id: number, type: string) => `id: ${id}\nevent: ${type}\ndata: ${JSON.stringify({ type, runId: 'r1' })}\n\n`;
    if (req.headers['last-event-id'] === undefined) {
      res.write(event(1, 'run.started'));
      open.push(res); // then nothing: no heartbeat, no end
    } else res.end(event(2, 'run.finished'));
  });
  let base = '';
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const r of open) r.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  it('takes a silent stream for dead and reopens it after the last event', async () => {
    const client = new PipewrightClient({ baseUrl: base, token: 'token-0123456789abcdef', streamIdleMs: 300 });
    const seen: StreamedEvent[] = [];
    for await (const e of client.events('r1', { signal: AbortSignal.timeout(30_000) })) seen.push(e);
    expect(seen.map((e) => [e.id, e.event.type])).toEqual([['1', 'run.started'], ['2', 'run.finished']]);
    expect(requests.map((h) => [h['authorization'], h['last-event-id']])).toEqual([['Bearer token-0123456789abcdef', undefined], ['Bearer token-0123456789abcdef', '1']]);
  });
});
