import { readFileSync } from 'node:fs';

/** A process's resident set in KiB, from /proc; undefined when it is gone. */
export function vmRssKb(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined; // the process is gone
  }
}
