import { trace } from '@opentelemetry/api';
import { multistream, pino, type Level, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/** Paths that never reach a log line. */
const REDACT = [
  'apiKey',
  '*.apiKey',
  'password',
  '*.password',
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'config.NATS_PASSWORD',
  'config.NATS_TOKEN',
];

/**
 * JSON logs on stdout. Every line inside an active span carries `trace_id` and `span_id`, so a log line
 * leads to its trace in Jaeger. `also` receives every line too (the OpenTelemetry log export).
 */
export function createLogger(service: string, level: string, also?: { write(line: string): void }): Logger {
  const destination = also && level !== 'silent' ? multistream([{ level: level as Level, stream: process.stdout }, { level: level as Level, stream: also }]) : undefined;
  const options: LoggerOptions = {
    name: service,
    level,
    base: { service },
    redact: { paths: REDACT, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
    mixin() {
      const span = trace.getActiveSpan();
      if (!span) return {};
      const ctx = span.spanContext();
      return { trace_id: ctx.traceId, span_id: ctx.spanId };
    },
  };
  return destination ? pino(options, destination) : pino(options);
}

/**
 * A logger whose info lines print even when the level is warn or error: for the few lines that a
 * supervisor reads rather than a person, such as the port a listener bound when given port 0 (the
 * local stack and the test harnesses read it there instead of guessing a free port). `silent` still
 * prints nothing.
 */
export function announcer(log: Logger): Logger {
  return log.isLevelEnabled('info') || log.level === 'silent' ? log : log.child({}, { level: 'info' });
}

/**
 * `log.child(bindings)`, made only when something is logged through it. A child logger serialises its
 * bindings (and runs redaction) when it is made; the per-message children of the hot path (one per
 * step command, per event) mostly log nothing at `info` or above, so they are made on first use.
 */
export function lazyChild(log: Logger, bindings: Record<string, unknown>): Logger {
  let child: Logger | undefined;
  const real = () => (child ??= log.child(bindings));
  return new Proxy(log, {
    get(_target, prop) {
      // Asking whether a level is on, or what the level is, needs no child.
      if (child === undefined && prop === 'isLevelEnabled') return log.isLevelEnabled.bind(log);
      if (child === undefined && (prop === 'level' || prop === 'levelVal')) return Reflect.get(log, prop, log) as unknown;
      if (child === undefined && typeof prop === 'string' && LEVELS.has(prop) && !log.isLevelEnabled(prop)) return NOOP;
      const value = Reflect.get(real(), prop, real()) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(real()) : value;
    },
  });
}

const LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace']);
const NOOP = () => undefined;
