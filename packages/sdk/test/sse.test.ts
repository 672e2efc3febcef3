import { describe, expect, it } from 'vitest';
import { readSse, type SseMessage } from '../src/index.js';

function streamOf(chunks: string[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(c) {
      for (const chunk of chunks) c.enqueue(enc.encode(chunk));
      c.close();
    },
  });
}

async function read(chunks: string[]): Promise<SseMessage[]> {
  const out: SseMessage[] = [];
  for await (const m of readSse(streamOf(chunks))) out.push(m);
  return out;
}

describe('readSse', () => {
  it('reads ids, types and data; skips comments; joins data lines', async () => {
    expect(await read(['id: 1\nevent: run.started\ndata: {"a":1}\n\n: heartbeat\n\nid: 2\ndata: line one\ndata: line two\n\n'])).toEqual([
      { id: '1', event: 'run.started', data: '{"a":1}' },
      { id: '2', data: 'line one\nline two' },
    ]);
  });

  it('takes CRLF and CR line ends, and events split anywhere across chunks (a CRLF split too)', async () => {
    const text = 'id: 7\r\nevent: x\r\ndata: {"b":2}\r\n\r\nid: 8\rdata: y\r\r';
    const whole = await read([text]);
    expect(whole).toEqual([{ id: '7', event: 'x', data: '{"b":2}' }, { id: '8', data: 'y' }]);
    for (let cut = 1; cut < text.length; cut++) expect(await read([text.slice(0, cut), text.slice(cut)])).toEqual(whole);
  });

  it('drops an unterminated last event (the connection ended mid-event)', async () => {
    expect(await read(['id: 1\ndata: a\n\nid: 2\ndata: b'])).toEqual([{ id: '1', data: 'a' }]);
  });
});
