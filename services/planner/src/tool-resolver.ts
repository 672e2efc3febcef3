import { toolsNamedDeep, type RegistryEntry, type RunRequest } from '@pipewright/contracts';
import { ToolRegistry } from '@pipewright/kit';
import type { NatsConnection } from '@nats-io/transport-node';

/**
 * The IO half of resolving a run's tools at submit: reads the registry entries of the tools the
 * request's pipeline names (only those), for `admit` to merge. A registry that cannot be read throws:
 * the submission is retried (redelivered) rather than refused for a tool that may well be registered.
 */
export class ToolResolver {
  private constructor(private readonly registry: ToolRegistry) {}

  /** Opens (`create`: the topology's owner creates) the registry bucket. */
  static async open(nc: NatsConnection, opts: { create: boolean; replicas: number }): Promise<ToolResolver> {
    return new ToolResolver(await ToolRegistry.open(nc, opts));
  }

  async entriesFor(request: RunRequest): Promise<ReadonlyMap<string, RegistryEntry>> {
    const names = [...toolsNamedDeep(request.pipeline)];
    return names.length === 0 ? new Map() : this.registry.lookup(names);
  }
}
