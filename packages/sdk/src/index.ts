// The public surface of @pipewright/sdk: write a pipeline in TypeScript with typed references between
// steps, compile it to the spec (or YAML) the planner runs, and run it over the console's HTTP API.
export { pipeline, Pipeline } from './builder.js';
export { tpl } from './template.js';
export type { TemplatePart } from './template.js';
export { eq, ne, oneOf, noneOf, exists, gt, gte, lt, lte, all, any } from './condition.js';
export { isRef, refPath } from './ref.js';
export type { Ref, RefBase, RefValue } from './ref.js';
export { jsonSchemaOf, toolSchemaOf } from './schema.js';
export type { SchemaSource } from './schema.js';
export { PipelineSpecError } from './errors.js';
export type * from './types.js';
export { PipewrightClient } from './client/client.js';
export type { ClientOptions, SubmitOptions, WaitOptions, StreamedEvent, RunRef } from './client/client.js';
export { PipewrightApiError, RunFailedError } from './client/errors.js';
export { readSse } from './client/sse.js';
export type { SseMessage } from './client/sse.js';
