import { readFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it } from 'vitest';
import { renderOpenApi } from '../src/openapi/document.js';

describe('the OpenAPI document', () => {
  it('is committed as generated (run `node services/console/dist/bin/export-openapi.js` after changing a contract)', () => {
    const committed = readFileSync(new URL('../openapi.json', import.meta.url), 'utf8');
    expect(committed === renderOpenApi(), 'services/console/openapi.json is stale').toBe(true);
  });

  it('is a valid OpenAPI 3.1 document (checked against the JSON Schema of the specification)', async () => {
    const result = await new Validator().validate(JSON.parse(renderOpenApi()) as object);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('is OpenAPI 3.1 with every route, bearer security, and the bodies as components', () => {
    const doc = JSON.parse(renderOpenApi()) as { openapi: string; paths: Record<string, Record<string, { security?: unknown; responses: Record<string, unknown> }>>; components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> } };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths).sort()).toEqual(['/batches', '/events', '/openapi.json', '/runs', '/runs/cancel', '/runs/{runId}', '/runs/{runId}/cancel', '/runs/{runId}/events', '/runs/{runId}/rerun', '/runs/{runId}/resume', '/runs/{runId}/signals/{name}', '/tools']);
    for (const [path, ops] of Object.entries(doc.paths))
      for (const [method, op] of Object.entries(ops)) {
        if (path === '/openapi.json') continue;
        expect(op.security, `${method} ${path}`).toEqual([{ bearer: [] }]);
        expect(Object.keys(op.responses), `${method} ${path}`).toContain('401');
      }
    expect(Object.keys(doc.components.schemas)).toEqual(expect.arrayContaining(['RunSummary', 'RunDetail', 'RunListPage', 'ApiError', 'BatchStats', 'ToolList']));
    expect(doc.components.securitySchemes).toHaveProperty('bearer');
  });
});
