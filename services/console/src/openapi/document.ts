import { ApiError, BatchStats, CancelAccepted, CancelBody, CancelByLabelBody, RerunAccepted, RerunBody, ResumeAccepted, ResumeBody, RunDetail, RunEvent, RunListPage, RunListQuery, RunRequest, RunSummary, SignalAccepted, SignalBody, SubmitAccepted, ToolList } from '@pipewright/contracts';
import { z } from 'zod';
import { createDocument, type ZodOpenApiOperationObject, type ZodOpenApiResponsesObject } from 'zod-openapi';

/** `POST /api/v1/runs`: a RunRequest whose `schemaVersion` may be left out (the console fills it in). */
export const SubmitBody = RunRequest.partial({ schemaVersion: true });

const json = (schema: z.ZodType, description: string) => ({ description, content: { 'application/json': { schema } } });
const runIdPath = { path: z.object({ runId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).meta({ description: 'The run id' }) }) };
const err = (description: string) => json(ApiError, description);
const auth401 = { '401': err('No valid bearer token (`unauthorized`)') };
const auth403 = { '403': err('A `read` token on an `operate` route (`forbidden`)') };
const sse = (description: string) => ({ description, content: { 'text/event-stream': { schema: z.string().meta({ description: 'Server-Sent Events (see docs/api.md#sse)' }) } } });

function op(summary: string, role: 'read' | 'operate', responses: ZodOpenApiResponsesObject, more: Partial<ZodOpenApiOperationObject> = {}): ZodOpenApiOperationObject {
  return { summary, description: `Role: \`${role}\`.${more.description ? ` ${more.description}` : ''}`, security: [{ bearer: [] }], ...more, responses: { ...responses, ...auth401, ...(role === 'operate' ? auth403 : {}) } };
}

/**
 * The OpenAPI 3.1 document of the runs API, generated from the zod contracts with zod-openapi (which
 * renders them with zod 4's own JSON Schema conversion, inputs and outputs apart): the same schemas
 * validate every request, so the document cannot drift from what the server accepts.
 */
export function openApiDocument(): ReturnType<typeof createDocument> {
  return createDocument({
    openapi: '3.1.0',
    info: {
      title: 'Pipewright runs API',
      version: '1',
      description: 'Submit, list, follow and steer runs (served by the console service). Every error is an ApiError with a `code`. See docs/api.md.',
    },
    servers: [{ url: '/api/v1' }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'A token of PW_CONSOLE_TOKENS (`name:role:token`); role `read` or `operate`.' } },
      schemas: { RunSummary, RunDetail, RunListPage, SubmitAccepted, CancelAccepted, ResumeAccepted, RerunAccepted, SignalAccepted, BatchStats, ApiError, RunEvent, ToolList },
    },
    paths: {
      '/runs': {
        post: op(
          'Submit a run',
          'operate',
          {
            '200': json(SubmitAccepted, 'The same request was accepted before (same Idempotency-Key, or same run id): its run'),
            '202': json(SubmitAccepted, 'Accepted: the run request is on the bus'),
            '400': err('The request is invalid (`issues` name each field by path)'),
            '409': err('`idempotency_conflict`: the key was used with another body (`differences` lists the paths); `conflict`: the run id exists with another request'),
            '413': err('The body is larger than the limit (`payload_too_large`)'),
            '503': err('The bus did not take the request (`unavailable`); retry with the same Idempotency-Key'),
          },
          {
            requestParams: { header: z.object({ 'idempotency-key': z.string().max(255).optional().meta({ description: 'Makes the submit safe to retry: the same key with the same body answers the first run (200); with another body, 409. Remembered 24 hours.' }) }) },
            requestBody: { content: { 'application/json': { schema: SubmitBody } } },
          },
        ),
        get: op('List runs, newest first', 'read', { '200': json(RunListPage, 'A page; pass `nextCursor` as `cursor` for the next'), '400': err('A bad parameter (named in `issues`)') }, { requestParams: { query: RunListQuery } }),
      },
      '/runs/cancel': {
        post: op('Cancel every unfinished run carrying all the labels', 'operate', { '202': json(CancelAccepted, 'The runs a cancel was requested for'), '400': err('Invalid body') }, { requestBody: { content: { 'application/json': { schema: CancelByLabelBody } } } }),
      },
      '/runs/{runId}': {
        get: op('A run: state, steps, outputs, cost, decision trail, approvals', 'read', { '200': json(RunDetail, 'The run'), '404': err('No such run') }, { requestParams: runIdPath }),
      },
      '/runs/{runId}/cancel': {
        post: op('Cancel a run', 'operate', { '202': json(CancelAccepted, 'Requested'), '404': err('No such run'), '409': err('The run has already ended (`conflict`)') }, { requestParams: runIdPath, requestBody: { content: { 'application/json': { schema: CancelBody } } } }),
      },
      '/runs/{runId}/resume': {
        post: op('Resume a stopped run from where it stopped', 'operate', { '202': json(ResumeAccepted, 'Requested'), '404': err('No such run'), '409': err('The run is not failed, timed_out, budget_exhausted or cancelled (`not_resumable`)') }, { requestParams: runIdPath, requestBody: { content: { 'application/json': { schema: ResumeBody } } } }),
      },
      '/runs/{runId}/rerun': {
        post: op('Re-run from a chosen step, reusing the outputs before it', 'operate', { '202': json(RerunAccepted, 'Requested: the new run id'), '400': err('No such step (`issues` path `fromStep`)'), '404': err('No such run'), '409': err('The new run id exists') }, { requestParams: runIdPath, requestBody: { content: { 'application/json': { schema: RerunBody } } } }),
      },
      '/runs/{runId}/signals/{name}': {
        post: op(
          'Send a run a named signal (what its `signal` steps wait for); also the entry point for webhooks of other systems',
          'operate',
          {
            '202': json(SignalAccepted, 'Sent: a step waiting for the name takes it (its payload checked against the step\'s output schema), else the run keeps it for the step that will'),
            '400': err('A bad name, body, Idempotency-Key, or a payload over 64 KiB (`issues` name the field)'),
            '404': err('No such run'),
            '409': err('The run has already ended (`conflict`)'),
            '503': err('The bus did not take the signal (`unavailable`); retry with the same signalId or Idempotency-Key'),
          },
          {
            description: 'The planner applies a signal id once: send the same `signalId` (or Idempotency-Key) to retry safely.',
            requestParams: {
              path: z.object({ runId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).meta({ description: 'The run id' }), name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).meta({ description: 'The signal name' }) }),
              header: z.object({ 'idempotency-key': z.string().max(255).optional().meta({ description: 'Stands for the signal id when the body has none' }) }),
            },
            requestBody: { content: { 'application/json': { schema: SignalBody } } },
          },
        ),
      },
      '/runs/{runId}/events': {
        get: op('The run\'s events as Server-Sent Events, from the start (or after Last-Event-ID), live until run.finished', 'read', { '200': sse('`id`: the PW_EVENTS sequence; `event`: the event type; `data`: the RunEvent JSON'), '400': err('A bad Last-Event-ID'), '404': err('No such run'), '503': err('Too many event streams open (`unavailable`); retry after Retry-After') }, {
          requestParams: { ...runIdPath, header: z.object({ 'last-event-id': z.string().regex(/^\d+$/).optional().meta({ description: 'Resume after this event id' }) }) },
        }),
      },
      '/events': {
        get: op('Every change of a run summary, live, as Server-Sent Events (`event: run`, `data`: RunSummary)', 'read', { '200': sse('A RunSummary per change'), '400': err('A bad filter'), '503': err('Too many event streams open (`unavailable`); retry after Retry-After') }, { requestParams: { query: RunListQuery.pick({ status: true, pipeline: true, label: true, tenant: true }) } }),
      },
      '/batches': {
        get: op('Progress of a batch: the runs carrying all the labels', 'read', { '200': json(BatchStats, 'Counts by status, throughput, cost so far, failures'), '400': err('No or bad label') }, {
          requestParams: { query: z.object({ label: z.union([z.string(), z.array(z.string())]).meta({ description: '`key=value`; repeat for several (all must match)' }) }) },
        }),
      },
      '/tools': {
        get: op('The tool registry: what each tool registered about itself (description, schemas, version, input digest)', 'read', { '200': json(ToolList, 'Every valid entry in name order, and the names whose entries do not parse'), '503': err('The registry cannot be read yet (`unavailable`): the planner creates it') }),
      },
      '/openapi.json': {
        get: { summary: 'This document (no authentication)', responses: { '200': { description: 'OpenAPI 3.1', content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } } } } },
      },
    },
  });
}

/** The document as committed (services/console/openapi.json): two-space JSON and a newline. */
export function renderOpenApi(): string {
  return `${JSON.stringify(openApiDocument(), null, 2)}\n`;
}
