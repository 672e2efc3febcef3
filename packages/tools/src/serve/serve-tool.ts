import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { trace } from '@opentelemetry/api';
import { SCHEMA_VERSION, ToolDescription, ToolName, toolSubjects } from '@pipewright/contracts';
import type { CallDeps } from './deps.js';
import { handleCall } from './handle-call.js';
import { Limiter } from './limiter.js';
import { registerTool } from './register.js';
import { compileSchema, type SchemaLike } from './schema.js';
import { DEFAULT_STOP_GRACE_MS, DEFAULT_TOOL_CONCURRENCY, DEFAULT_TOOL_TIMEOUT_MS, type ToolHandle, type ToolSpec } from './spec.js';

/** NATS's default max_payload, used until the server's INFO says otherwise. */
const DEFAULT_MAX_PAYLOAD_BYTES = 1_048_576;

/**
 * Serves a tool on `pw.tools.<name>` (queue group `tool-<name>`, so any number of processes share the
 * calls) and answers `pw.tools.<name>.describe` with its description. Resolves once the server has
 * the subscriptions, so a call made after it returns is delivered. Then writes the tool's entry in
 * the tool registry (`handle.registered` resolves once it is written; see docs/tools.md). A bad spec
 * (name, JSON Schema) throws: it is a programming error.
 */
export async function serveTool<I extends SchemaLike>(nc: NatsConnection, spec: ToolSpec<I>): Promise<ToolHandle> {
  const name = ToolName.parse(spec.name);
  const input = compileSchema(spec.input);
  const output = spec.output !== undefined ? compileSchema(spec.output) : undefined;
  const description = ToolDescription.parse({
    schemaVersion: SCHEMA_VERSION,
    name,
    description: spec.description,
    input: input.jsonSchema,
    ...(output ? { output: output.jsonSchema } : {}),
    version: spec.version ?? '1',
  });
  const concurrency = spec.concurrency ?? DEFAULT_TOOL_CONCURRENCY;
  const stopper = new AbortController();
  /** Aborted when stop() begins: a registration still retrying gives up. */
  const registering = new AbortController();
  const deps: CallDeps = {
    name,
    input,
    output,
    handler: spec.handler as CallDeps['handler'],
    limiter: new Limiter(concurrency, spec.maxWaiting ?? 10 * concurrency),
    dedupe: spec.dedupe,
    timeoutMs: spec.timeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS,
    tracer: trace.getTracer('pipewright.tools'),
    log: spec.log?.child({ tool: name }),
    stopSignal: stopper.signal,
    maxPayloadBytes: () => nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD_BYTES,
  };

  const running = new Set<Promise<void>>();
  const track = (p: Promise<void>) => {
    running.add(p);
    void p.finally(() => running.delete(p));
  };
  const subscriptionFailed = (what: string, err: Error) => deps.log?.error({ err }, `${what} subscription failed`);
  const queue = toolSubjects.queue(name);
  const calls: Subscription = nc.subscribe(toolSubjects.call(name), {
    queue,
    callback: (err, msg) => (err ? subscriptionFailed('call', err) : track(handleCall(msg, deps))),
  });
  const describeBytes = new TextEncoder().encode(JSON.stringify(description));
  const describe: Subscription = nc.subscribe(toolSubjects.describe(name), {
    queue,
    callback: (err, msg) => (err ? subscriptionFailed('describe', err) : msg.reply ? void msg.respond(describeBytes) : undefined),
  });
  await nc.flush();
  deps.log?.info({ subject: toolSubjects.call(name), queue, concurrency }, 'tool serving');
  // Written once it serves, so a pipeline resolved from the entry finds the tool answering.
  const registered = spec.register === false ? Promise.resolve(undefined) : registerTool(nc, description, registering.signal, deps.log);

  let stopped: Promise<void> | undefined;
  return {
    name,
    description,
    registered,
    inFlight: () => deps.limiter.inFlight,
    stop(graceMs = DEFAULT_STOP_GRACE_MS) {
      stopped ??= (async () => {
        registering.abort(new Error('tool stopping'));
        // Unsubscribe first (calls in the client's buffer are still handled), then let handlers finish.
        await Promise.allSettled([calls.drain(), describe.drain()]);
        const all = Promise.allSettled([...running]);
        const grace = new Promise<'grace'>((r) => setTimeout(() => r('grace'), graceMs).unref());
        if ((await Promise.race([all, grace])) === 'grace') {
          deps.log?.warn({ running: running.size }, 'stop grace elapsed; aborting running tool calls');
          stopper.abort(new Error('tool stopping'));
          await Promise.race([all, new Promise((r) => setTimeout(r, graceMs).unref())]);
        }
      })();
      return stopped;
    },
  };
}
