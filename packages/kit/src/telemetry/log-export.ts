// pino lines as OpenTelemetry log records (OTLP HTTP), beside stdout, when OTEL_LOGS_EXPORTER=otlp:
// each record keeps the line's level, message, fields and — from `trace_id`/`span_id`, which every line
// inside a span carries — the trace it belongs to, so a backend shows a span's logs with it.
import { ROOT_CONTEXT, SeverityNumber, trace, TraceFlags, type Attributes } from '@opentelemetry/api';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';

export interface LogExport {
  /** A pino destination: one JSON line per write. */
  stream: { write(line: string): void };
  /** Sends what is buffered (bounded by the exporter's timeout) and stops. */
  shutdown(): Promise<void>;
}

const SEVERITY: Readonly<Record<string, SeverityNumber>> = {
  trace: SeverityNumber.TRACE,
  debug: SeverityNumber.DEBUG,
  info: SeverityNumber.INFO,
  warn: SeverityNumber.WARN,
  error: SeverityNumber.ERROR,
  fatal: SeverityNumber.FATAL,
};
/** Fields that become the record's own parts, not attributes. */
const OWN = new Set(['level', 'time', 'msg', 'trace_id', 'span_id']);

/** Exports log lines to `url` (`<OTLP endpoint>/v1/logs`) as the service `serviceName`. */
export function startLogExport(serviceName: string, url: string): LogExport {
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: serviceName }),
    processors: [new BatchLogRecordProcessor({ exporter: new OTLPLogExporter({ url }), scheduledDelayMillis: 500 })],
  });
  const logger = provider.getLogger('pino');
  return {
    stream: {
      write(line: string) {
        let fields: Record<string, unknown>;
        try {
          fields = JSON.parse(line) as Record<string, unknown>;
        } catch {
          return; // not a log line of ours
        }
        const level = typeof fields['level'] === 'string' ? fields['level'] : 'info';
        const traceId = fields['trace_id'];
        const spanId = fields['span_id'];
        logger.emit({
          severityNumber: SEVERITY[level] ?? SeverityNumber.UNSPECIFIED,
          severityText: level.toUpperCase(),
          body: typeof fields['msg'] === 'string' ? fields['msg'] : '',
          ...(typeof fields['time'] === 'string' ? { timestamp: new Date(fields['time']) } : {}),
          attributes: attributesOf(fields),
          ...(typeof traceId === 'string' && typeof spanId === 'string'
            ? { context: trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId, traceFlags: TraceFlags.SAMPLED, isRemote: true }) }
            : {}),
        });
      },
    },
    shutdown: () => provider.shutdown(),
  };
}

/** A line's other fields: scalars as they are, anything else as JSON text. */
function attributesOf(fields: Record<string, unknown>): Attributes {
  const out: Attributes = {};
  for (const [k, v] of Object.entries(fields)) {
    if (OWN.has(k) || v === null || v === undefined) continue;
    out[k] = typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? v : JSON.stringify(v);
  }
  return out;
}
