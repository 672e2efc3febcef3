// Scripted answers: the first script entry whose `match` fits the call decides the reply (and may
// force a fault). Two kinds of sequence:
// - `replies` is counted per script entry and per Idempotency-Key, so that "the first two attempts of
//   every call fail, the third succeeds" holds for each call on its own;
// - `conversation` is counted per model turn, read from the request itself (the assistant messages it
//   already holds), so that an agent's simulated model can "call a tool first, then answer": each turn
//   is a new request with a longer history, and a retried turn sends the same history again.
import type { FaultKind, ScriptEntry, ScriptReply } from './sim-config.js';

/** What a matching script contributes to one call. */
export interface ScriptHit {
  /** Index of the script entry in `config.scripts`. */
  index: number;
  /** The reply for this call; undefined when the entry only forces a fault. */
  reply: ScriptReply | undefined;
  /** Forced outcome: the reply's own `fault`, else the entry's `fault`. */
  fault: FaultKind | undefined;
}

/** The facts of a call that scripts can match on. */
export interface ScriptCall {
  model: string;
  lastUserText: string;
  /** Value of the `Idempotency-Key` header, if any. */
  key: string | undefined;
  /** Assistant messages already in the request: the conversation's earlier model turns. */
  assistantTurns: number;
}

function matches(entry: ScriptEntry, call: ScriptCall): boolean {
  const m = entry.match ?? {};
  if (m.model !== undefined && m.model !== call.model) return false;
  if (m.contains !== undefined && !call.lastUserText.includes(m.contains)) return false;
  if (m.key !== undefined && !(call.key ?? '').startsWith(m.key)) return false;
  return true;
}

/** The n-th element of a sequence, the last one once it has run out. */
function nth<T>(items: readonly T[], n: number): T | undefined {
  return items[Math.min(n, items.length - 1)];
}

/** Holds the scripts of one config and how far each `replies` sequence has advanced. */
export class ScriptBook {
  private readonly positions = new Map<string, number>();

  constructor(private readonly entries: readonly ScriptEntry[]) {}

  /** Finds the script for a call and advances its sequence; undefined when no script matches. */
  next(call: ScriptCall): ScriptHit | undefined {
    const index = this.entries.findIndex((e) => matches(e, call));
    const entry = this.entries[index];
    if (entry === undefined) return undefined;
    let reply = entry.reply;
    if (entry.conversation !== undefined) reply = nth(entry.conversation, call.assistantTurns);
    if (entry.replies !== undefined) {
      const slot = `${index}\u0000${call.key ?? ''}`;
      const n = this.positions.get(slot) ?? 0;
      this.positions.set(slot, n + 1);
      reply = nth(entry.replies, n);
    }
    return { index, reply, fault: reply?.fault ?? entry.fault };
  }
}
