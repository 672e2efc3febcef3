import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { Stack, binDir, httpGet, jaegerAvailable, jaegerConfig, startJaeger, waitFor } from '../src/index.js';

const available = jaegerAvailable();
if (!available) {
  console.warn(
    `Jaeger tests skipped: no jaeger in ${binDir()} or $PW_JAEGER (run scripts/ensure-servers.sh jaeger)`,
  );
}

const stack = new Stack();
afterAll(() => stack.stopAll());

describe('jaegerConfig', () => {
  it('puts every listener on the given loopback ports', () => {
    const yaml = jaegerConfig({ otlpHttp: 41001, queryHttp: 41002, queryGrpc: 41003 });
    expect(yaml).toContain('endpoint: 127.0.0.1:41001');
    expect(yaml).toContain('endpoint: 127.0.0.1:41002');
    expect(yaml).toContain('endpoint: 127.0.0.1:41003');
    expect(yaml).not.toMatch(/0\.0\.0\.0|:4317|:4318|:16686/);
  });
});

describe('startJaeger', () => {
  it.skipIf(!available)('receives an OTLP/HTTP trace and serves it from the query API', async () => {
    const jaeger = await startJaeger();
    stack.add('jaeger', () => jaeger.stop());
    const traceId = randomBytes(16).toString('hex');
    const spanId = randomBytes(8).toString('hex');
    const nowNs = BigInt(Date.now()) * 1_000_000n;
    const body = {
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'devstack-test' } }] },
          scopeSpans: [
            {
              scope: { name: 'devstack' },
              spans: [{ traceId, spanId, name: 'probe', kind: 1, startTimeUnixNano: String(nowNs), endTimeUnixNano: String(nowNs + 1_000_000n) }],
            },
          ],
        },
      ],
    };
    const posted = await fetch(new URL('v1/traces', jaeger.otlpHttpUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(posted.status).toBe(200);

    const trace = await waitFor(`trace ${traceId} in Jaeger`, async () => {
      const res = await httpGet(`${jaeger.queryUrl}/api/v3/traces/${traceId}`);
      return res.status === 200 ? res.body : undefined;
    }, { timeoutMs: 10_000, intervalMs: 200 });
    expect(trace).toContain('probe');
    const services = await httpGet(`${jaeger.queryUrl}/api/v3/services`);
    expect(services.body).toContain('devstack-test');
    await jaeger.stop();
  });
});
