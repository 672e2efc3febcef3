import type { NatsConnection } from '@nats-io/transport-node';
import { errorMessage, ToolRegistry, type Logger } from '@pipewright/kit';
import type { ToolList } from '@pipewright/contracts';
import type { OpResult, ToolsReader } from '../ports.js';

/**
 * The tool registry as the console lists it. The bucket is bound on each call, so a console started
 * before the planner (which creates the bucket) answers 503 until then rather than failing to start.
 */
export function registryReader(nc: NatsConnection, log: Logger): ToolsReader {
  return {
    async list(): Promise<OpResult<ToolList>> {
      try {
        return { ok: true, status: 200, value: await (await ToolRegistry.open(nc)).list() };
      } catch (err) {
        log.warn({ err: errorMessage(err) }, 'could not read the tool registry');
        return { ok: false, status: 503, error: { code: 'unavailable', message: `the tool registry cannot be read: ${errorMessage(err)}` } };
      }
    },
  };
}
