/** One Server-Sent Event: its id, type and data (the `data:` lines joined). */
export interface SseMessage {
  id?: string;
  event?: string;
  data: string;
}

/** The largest event the client buffers (a run event is at most a few hundred KiB; outputs travel by reference past that). */
const MAX_EVENT_BYTES = 16 * 1024 * 1024;

/** Reads a text/event-stream body into messages (WHATWG rules: `\n`, `\r\n` or `\r` line ends; comments skipped). */
export async function* readSse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseMessage> {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  let msg: SseMessage = { data: '' };
  let hasData = false;
  /** Takes the next whole line off the buffer (a lone `\r` at its end may be half of `\r\n`: kept unless the stream ended). */
  const nextLine = (ended: boolean): string | undefined => {
    const at = buf.search(/\r\n|\r|\n/);
    if (at < 0 || (!ended && buf[at] === '\r' && at === buf.length - 1)) return undefined;
    const line = buf.slice(0, at);
    buf = buf.slice(at + (buf.startsWith('\r\n', at) ? 2 : 1));
    return line;
  };
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (!done) buf += value;
      if (buf.length > MAX_EVENT_BYTES) throw new Error(`an event of the stream is over ${MAX_EVENT_BYTES} bytes`);
      let line: string | undefined;
      while ((line = nextLine(done)) !== undefined) {
        if (line === '') {
          if (hasData || msg.event !== undefined) yield msg;
          msg = { data: '' };
          hasData = false;
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const v = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'data') {
          msg.data = hasData ? `${msg.data}\n${v}` : v;
          hasData = true;
        } else if (field === 'event') msg.event = v;
        else if (field === 'id') msg.id = v;
      }
      if (done) return;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}
