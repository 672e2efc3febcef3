// Reads traces back from a real Jaeger v2 through its query API, in the shape the trace tests assert
// on. `/api/traces?service=&tags=` (the v1-style search) finds a run's trace by its `pw.run.id`
// attribute; `/api/v3/traces/{traceId}` returns the whole trace as OTLP JSON (ids in hex, int values as
// strings), which is what the spans below are decoded from.

export interface TraceSpan {
  service: string;
  traceId: string;
  spanId: string;
  /** Empty for a root span. */
  parentSpanId: string;
  name: string;
  /** OTLP span kind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  /** OTLP status code: 0 unset, 1 ok, 2 error. */
  status: { code: number; message: string };
  startNs: bigint;
  endNs: bigint;
  attributes: Record<string, unknown>;
  events: { name: string; attributes: Record<string, unknown> }[];
  /** Spans this one links to (in this trace or another). */
  links: { traceId: string; spanId: string; attributes: Record<string, unknown> }[];
}

interface OtlpAttr {
  key: string;
  value: Record<string, unknown>;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind?: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes?: OtlpAttr[];
  events?: { name: string; attributes?: OtlpAttr[] }[];
  links?: { traceId: string; spanId: string; attributes?: OtlpAttr[] }[];
  status?: { code?: number; message?: string };
}
interface V3Trace {
  result?: { resourceSpans?: { resource?: { attributes?: OtlpAttr[] }; scopeSpans?: { spans?: OtlpSpan[] }[] }[] };
}

/** An OTLP AnyValue as a plain value: intValue (a string in JSON) becomes a number, arrays are unwrapped. */
function anyValue(v: Record<string, unknown>): unknown {
  if ('intValue' in v) return Number(v['intValue']);
  if ('arrayValue' in v) return ((v['arrayValue'] as { values?: Record<string, unknown>[] }).values ?? []).map(anyValue);
  return Object.values(v)[0];
}

const attrs = (list: OtlpAttr[] | undefined): Record<string, unknown> => Object.fromEntries((list ?? []).map((a) => [a.key, anyValue(a.value)]));

/** Every span Jaeger holds for a trace, or [] when it holds none (yet). */
export async function jaegerTrace(queryUrl: string, traceId: string): Promise<TraceSpan[]> {
  const res = await fetch(`${queryUrl}/api/v3/traces/${traceId}`);
  if (res.status === 404) return [];
  if (!res.ok) throw new Error(`GET /api/v3/traces/${traceId}: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as V3Trace;
  const spans: TraceSpan[] = [];
  for (const rs of body.result?.resourceSpans ?? []) {
    const name = attrs(rs.resource?.attributes)['service.name'];
    const service = typeof name === 'string' ? name : '';
    for (const ss of rs.scopeSpans ?? [])
      for (const s of ss.spans ?? [])
        spans.push({
          service,
          traceId: s.traceId,
          spanId: s.spanId,
          parentSpanId: s.parentSpanId ?? '',
          name: s.name,
          kind: s.kind ?? 0,
          status: { code: s.status?.code ?? 0, message: s.status?.message ?? '' },
          startNs: BigInt(s.startTimeUnixNano),
          endNs: BigInt(s.endTimeUnixNano),
          attributes: attrs(s.attributes),
          events: (s.events ?? []).map((e) => ({ name: e.name, attributes: attrs(e.attributes) })),
          links: (s.links ?? []).map((l) => ({ traceId: l.traceId, spanId: l.spanId, attributes: attrs(l.attributes) })),
        });
  }
  return spans;
}

/** Ids of the traces of `service` that have a span with every given attribute (string values). */
export async function jaegerFindTraces(queryUrl: string, service: string, tags: Record<string, string>): Promise<string[]> {
  const url = `${queryUrl}/api/traces?service=${encodeURIComponent(service)}&tags=${encodeURIComponent(JSON.stringify(tags))}&limit=100&lookback=1h`;
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { data?: { traceID: string }[] | null };
  return [...new Set((body.data ?? []).map((t) => t.traceID))];
}

/** Service names Jaeger has seen. */
export async function jaegerServices(queryUrl: string): Promise<string[]> {
  const res = await fetch(`${queryUrl}/api/v3/services`);
  if (!res.ok) throw new Error(`GET /api/v3/services: ${res.status}`);
  return ((await res.json()) as { services?: string[] }).services ?? [];
}

/** Spans whose parent is not in the trace (a complete trace has exactly one: its root). */
export function rootsOf(trace: TraceSpan[]): TraceSpan[] {
  const ids = new Set(trace.map((s) => s.spanId));
  return trace.filter((s) => !s.parentSpanId || !ids.has(s.parentSpanId));
}

/** The trace as an indented tree (`name [service]`, children by start time): for logs and docs. */
export function spanTree(trace: TraceSpan[]): string {
  const children = new Map<string, TraceSpan[]>();
  for (const s of trace) children.set(s.parentSpanId, [...(children.get(s.parentSpanId) ?? []), s]);
  const lines: string[] = [];
  const walk = (s: TraceSpan, depth: number) => {
    const err = s.status.code === 2 ? ' ERROR' : '';
    lines.push(`${'  '.repeat(depth)}${s.name} [${s.service.replace(/^pipewright-/, '')}]${err}`);
    for (const c of (children.get(s.spanId) ?? []).sort((a, b) => (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : 0))) walk(c, depth + 1);
  };
  for (const r of rootsOf(trace)) walk(r, 0);
  return lines.join('\n');
}
