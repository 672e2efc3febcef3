import { connect, type NatsConnection } from '@nats-io/transport-node';
import { toolIdempotencyKey, type ToolRequestInput } from '@pipewright/contracts';
import { startNatsServer, type NatsServerHandle } from '@pipewright/devstack';

/** A real nats-server (free port, temporary store) and connections to it, closed by `close()`. */
export async function natsFixture(): Promise<{ server: NatsServerHandle; connect: () => Promise<NatsConnection>; close: () => Promise<void> }> {
  const server = await startNatsServer();
  const conns: NatsConnection[] = [];
  return {
    server,
    connect: async () => {
      const nc = await connect({ servers: server.url });
      conns.push(nc);
      return nc;
    },
    close: async () => {
      await Promise.allSettled(conns.map((c) => c.close()));
      await server.stop();
    },
  };
}

let seq = 0;

/** A valid request for `tool`; a fresh call id each time unless one is given. */
export function request(tool: string, args: unknown, over: Partial<ToolRequestInput> = {}): ToolRequestInput {
  const runId = over.runId ?? 'run-1';
  const stepId = over.stepId ?? 'agent';
  const callId = over.callId ?? `c${++seq}`;
  return { schemaVersion: 1, tool, callId, runId, stepId, idempotencyKey: toolIdempotencyKey(runId, stepId, callId), arguments: args, ...over };
}

export const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });
