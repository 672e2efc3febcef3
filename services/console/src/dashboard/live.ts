import type { Context } from 'hono';
import { streamSSE, type SSEMessage } from 'hono/streaming';

/** A comment line this often keeps proxies from closing a quiet stream, and finds departed browsers. */
export const HEARTBEAT_MS = 15_000;
/** Open live streams beyond this are refused (503): each holds a subscription and a connection. */
export const MAX_LIVE_STREAMS = 256;

/**
 * What a live page watches. `watch` calls `changed` whenever what the page shows may have changed
 * (as often as it likes: changes are coalesced); `flush` returns the messages that bring the page up
 * to date, or none when nothing it shows changed.
 */
export interface LiveSource {
  watch(changed: () => void, signal: AbortSignal): void;
  flush(): Promise<SSEMessage[]>;
}

/** Counts open streams against MAX_LIVE_STREAMS. */
export class LiveStreams {
  open = 0;
}

/**
 * A Server-Sent Events response that sends `source.flush()` at once and then after changes, at most
 * every `minIntervalMs` (so a burst of thousands of events costs a few renders, and a slow browser
 * gets the latest state rather than a queue). Ends when the browser goes away.
 */
export function liveResponse(c: Context, streams: LiveStreams, source: LiveSource, minIntervalMs: number): Response {
  if (streams.open >= MAX_LIVE_STREAMS) return c.text('too many live views are open; reload later', 503);
  streams.open++;
  c.header('cache-control', 'no-store');
  c.header('x-accel-buffering', 'no');
  return streamSSE(c, async (stream) => {
    const ac = new AbortController();
    stream.onAbort(() => ac.abort());
    let dirty = true;
    let wake: (() => void) | undefined;
    const changed = () => {
      dirty = true;
      wake?.();
    };
    try {
      source.watch(changed, ac.signal);
      while (!ac.signal.aborted) {
        if (dirty) {
          dirty = false;
          for (const m of await flushOrNothing(source)) await stream.writeSSE(m);
          await waitFor(minIntervalMs, ac.signal);
          continue;
        }
        const woken = await waitFor(HEARTBEAT_MS, ac.signal, (w) => (wake = w));
        wake = undefined;
        if (!woken) await stream.write(': keep-alive\n\n');
      }
    } finally {
      ac.abort();
      streams.open--;
    }
  });
}

/**
 * The source's messages; none when it failed (the store unreachable for a moment): the page keeps what
 * it shows, and the next change tries again. The stream stays open, so the browser need not reconnect.
 */
async function flushOrNothing(source: LiveSource): Promise<SSEMessage[]> {
  try {
    return await source.flush();
  } catch {
    return [];
  }
}

/** Waits `ms`, or less if the signal aborts or (given `onWake`) the wake it is handed is called; true if cut short. */
function waitFor(ms: number, signal: AbortSignal, onWake?: (wake: () => void) => void): Promise<boolean> {
  return new Promise((resolve) => {
    const finish = (early: boolean) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', abort);
      resolve(early);
    };
    const abort = () => finish(true);
    const timer = setTimeout(() => finish(false), ms);
    signal.addEventListener('abort', abort, { once: true });
    onWake?.(() => finish(true));
  });
}
