// The output of a process as lines: a stream split into lines, and a ring buffer of the last ones,
// enough to explain a failure, bounded so that a chatty server running for an hour does not grow the
// test process's memory.
import type { Readable } from 'node:stream';

/** How many lines a process keeps by default. */
export const DEFAULT_KEPT_LINES = 200;

export class LineBuffer {
  private readonly lines: string[] = [];
  private start = 0;

  constructor(private readonly capacity: number = DEFAULT_KEPT_LINES) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, not ${capacity}`);
  }

  push(line: string): void {
    if (this.lines.length < this.capacity) {
      this.lines.push(line);
      return;
    }
    this.lines[this.start] = line;
    this.start = (this.start + 1) % this.capacity;
  }

  /** The kept lines, oldest first. */
  toArray(): string[] {
    return [...this.lines.slice(this.start), ...this.lines.slice(0, this.start)];
  }

  /** What `read` makes of the first kept line it accepts (returns non-undefined for), oldest first. */
  first<T>(read: (line: string) => T | undefined): T | undefined {
    for (const line of this.toArray()) {
      const value = read(line);
      if (value !== undefined) return value;
    }
    return undefined;
  }

  /** The last `count` kept lines (all by default), joined with newlines. */
  text(count = this.capacity): string {
    return this.toArray().slice(-count).join('\n');
  }
}

/** `pattern.test` without the `lastIndex` trap of global and sticky regular expressions. */
export function matches(pattern: RegExp, line: string): boolean {
  pattern.lastIndex = 0;
  return pattern.test(line);
}

/** Splits a stream into lines (\n or \r\n); resolves when the stream ends, after the last partial line. */
export function readLines(stream: Readable | null, onLine: (line: string) => void): Promise<void> {
  if (stream === null) return Promise.resolve();
  return new Promise((resolve) => {
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      for (const part of parts) onLine(part.endsWith('\r') ? part.slice(0, -1) : part);
    });
    const finish = (): void => {
      if (partial !== '') onLine(partial);
      partial = '';
      resolve();
    };
    stream.once('end', finish);
    stream.once('close', finish);
    stream.once('error', finish);
  });
}
