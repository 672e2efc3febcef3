import { setTimeout as sleep } from 'node:timers/promises';
import type { NatsConnection } from '@nats-io/transport-node';
import { toolRegistration, type ToolDescription, type ToolRegistration } from '@pipewright/contracts';
import { errorMessage, startupDelayMs, ToolRegistry, type Logger } from '@pipewright/kit';

/**
 * Writes the tool's entry in the tool registry (`pw_tools`, key = its name), so that pipelines may name
 * it without giving its schema. A tool may start before the planner has created the bucket, or while
 * the broker is away: the write is retried (full jitter, capped) until it lands or the tool stops.
 * Resolves with the entry written, or undefined when stopped (or the connection closed) first. Never rejects.
 */
export async function registerTool(nc: NatsConnection, description: ToolDescription, stop: AbortSignal, log: Logger | undefined): Promise<ToolRegistration | undefined> {
  // A closed connection never comes back: the loop ends with it (a stopped tool ends it first).
  for (let retry = 1; !stop.aborted && !nc.isClosed(); retry++) {
    try {
      const entry = toolRegistration(description, new Date());
      await (await ToolRegistry.forWriting(nc)).put(entry);
      log?.info({ version: entry.version, inputDigest: entry.inputDigest }, 'tool registered');
      return entry;
    } catch (err) {
      const delayMs = startupDelayMs(retry);
      // The first failure is worth a line; later ones (waiting for the planner) only at debug.
      if (retry === 1) log?.warn({ err: errorMessage(err), delayMs }, 'could not write the tool registry entry yet (is the planner up?); retrying');
      else log?.debug({ err: errorMessage(err), retry, delayMs }, 'tool registry entry not written yet; retrying');
      await sleep(delayMs, undefined, { signal: stop }).catch(() => undefined);
    }
  }
  return undefined;
}
