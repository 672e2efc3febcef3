import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.js';
import { startLogExport } from '../src/telemetry/log-export.js';

/**
 * OTEL_LOGS_EXPORTER=otlp: every pino line also leaves as an OTLP log record — level, message, fields,
 * and the trace it belongs to — received here by a real HTTP server speaking OTLP/HTTP JSON.
 */
describe('log lines exported as OpenTelemetry log records', () => {
  let server: Server;
  const bodies: unknown[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.url === '/v1/logs') bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('sends level, message, fields and trace context, and nothing below the level', async () => {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/logs`;
    const exp = startLogExport('pipewright-test', url);
    const log = createLogger('test', 'info', exp.stream);
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const spanId = 'b7ad6b7169203331';
    log.info({ trace_id: traceId, span_id: spanId, runId: 'r-1', attempt: 2, nested: { a: 1 } }, 'step completed');
    log.debug('below the level');
    log.warn('no span here');
    await exp.shutdown();

    type Rec = { severityText: string; severityNumber: number; body: { stringValue: string }; traceId?: string; spanId?: string; attributes: { key: string; value: Record<string, unknown> }[] };
    const records = (bodies as { resourceLogs: { resource: { attributes: { key: string; value: { stringValue?: string } }[] }; scopeLogs: { logRecords: Rec[] }[] }[] }[]).flatMap((b) =>
      b.resourceLogs.flatMap((r) => r.scopeLogs.flatMap((s) => s.logRecords.map((rec) => ({ rec, service: r.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue })))),
    );
    expect(records.map((r) => r.rec.body.stringValue)).toEqual(['step completed', 'no span here']);
    const [first, second] = records;
    expect(first!.service).toBe('pipewright-test');
    expect(first!.rec).toMatchObject({ severityText: 'INFO', severityNumber: 9, traceId, spanId });
    const attrs = Object.fromEntries(first!.rec.attributes.map((a) => [a.key, Object.values(a.value)[0]]));
    expect(attrs).toMatchObject({ runId: 'r-1', service: 'test', nested: '{"a":1}' });
    expect(Number(attrs['attempt'])).toBe(2);
    expect(second!.rec).toMatchObject({ severityText: 'WARN', severityNumber: 13 });
    expect(second!.rec.traceId ?? '').toBe('');
  });
});
