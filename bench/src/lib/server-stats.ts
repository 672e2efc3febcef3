/**
 * What nats-server saw, read from its monitoring endpoint, so that a benchmark can count (not estimate)
 * the durable writes and the messages of each service per step: `/jsz` gives every stream's last
 * sequence (one per message stored, KV buckets included), `/connz` every connection's messages in and
 * out (a JetStream publish or a KV write is one message out and its acknowledgement one in).
 */

interface Jsz {
  account_details?: { stream_detail?: { name: string; state: { last_seq: number } }[] }[];
}
interface Connz {
  connections: { name?: string; in_msgs: number; out_msgs: number }[];
}

export interface ServerStats {
  /** Messages stored so far, by stream. */
  stored: Record<string, number>;
  /** Messages each named client connection sent (`out`) and received (`in`), summed by name. */
  clients: Record<string, { sent: number; received: number }>;
}

export async function serverStats(monitorPort: number): Promise<ServerStats> {
  const base = `http://127.0.0.1:${monitorPort}`;
  const jsz = (await (await fetch(`${base}/jsz?accounts=true&streams=true`)).json()) as Jsz;
  const connz = (await (await fetch(`${base}/connz?limit=1024`)).json()) as Connz;
  const stored: Record<string, number> = {};
  for (const a of jsz.account_details ?? []) for (const s of a.stream_detail ?? []) stored[s.name] = s.state.last_seq;
  const clients: Record<string, { sent: number; received: number }> = {};
  for (const c of connz.connections) {
    const name = c.name ?? 'unnamed';
    const e = (clients[name] ??= { sent: 0, received: 0 });
    // the server's in_msgs are what the client sent
    e.sent += c.in_msgs;
    e.received += c.out_msgs;
  }
  return { stored, clients };
}

/** Per-step differences between two readings (rounded to 0.01). */
export function perStep(a: ServerStats, b: ServerStats, steps: number): { writes: Record<string, number>; writesTotal: number; clients: Record<string, { sent: number; received: number }> } {
  const r = (x: number) => Math.round((x / steps) * 100) / 100;
  const writes: Record<string, number> = {};
  let total = 0;
  for (const [name, seq] of Object.entries(b.stored)) {
    const d = seq - (a.stored[name] ?? 0);
    if (d <= 0) continue;
    writes[name] = r(d);
    total += d;
  }
  const clients: Record<string, { sent: number; received: number }> = {};
  for (const [name, v] of Object.entries(b.clients)) {
    const before = a.clients[name] ?? { sent: 0, received: 0 };
    clients[name] = { sent: r(v.sent - before.sent), received: r(v.received - before.received) };
  }
  return { writes, writesTotal: r(total), clients };
}
