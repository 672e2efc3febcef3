import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { BudgetStatusRequest, describeIssues, fromZodError, SCHEMA_VERSION, subjects, type BudgetStatusReply } from '@pipewright/contracts';
import type { Logger } from '@pipewright/kit';

/**
 * The budget service's request-reply endpoints on core NATS (a queue group, so replicas share the load).
 * This first version answers `status` with an empty ledger; limits and reservations come with the
 * budget issue. A malformed request gets an error reply, never a crash.
 */
export function serveBudget(nc: NatsConnection, log: Logger): Subscription[] {
  const status = nc.subscribe(subjects.budget.status, {
    queue: 'budget',
    callback: (err, msg) => {
      if (err) return log.error({ err }, 'budget status subscription failed');
      reply(msg, log, () => {
        const parsed = BudgetStatusRequest.safeParse(msg.json());
        if (!parsed.success) return { schemaVersion: SCHEMA_VERSION, error: describeIssues(fromZodError(parsed.error)) };
        const r: BudgetStatusReply = { schemaVersion: SCHEMA_VERSION, scope: parsed.data.scope, id: parsed.data.id, committedUsd: 0, reservedUsd: 0, committedTokens: 0, reservedTokens: 0 };
        return r;
      });
    },
  });
  return [status];
}

function reply(msg: Msg, log: Logger, build: () => unknown): void {
  try {
    msg.respond(JSON.stringify(build()));
  } catch (err) {
    log.warn({ err }, 'bad budget request');
    msg.respond(JSON.stringify({ schemaVersion: SCHEMA_VERSION, error: err instanceof Error ? err.message : String(err) }));
  }
}
