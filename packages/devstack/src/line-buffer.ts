// A ring buffer of the last output lines of a process: enough to explain a failure, bounded so that a
// chatty server running for an hour does not grow the test process's memory.

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

  /** The first kept line that matches, oldest first. */
  find(pattern: RegExp): string | undefined {
    return this.toArray().find((line) => matches(pattern, line));
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
