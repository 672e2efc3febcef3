import { commonEnv, envInt, envList, parseEnv } from '@pipewright/kit';

const plannerEnv = commonEnv.extend({
  /** Events handled at once by one planner process. */
  PW_PLANNER_CONCURRENCY: envInt(1, 10_000).default(64),
  /** AckWait of the planner's consumers. */
  PW_PLANNER_ACK_WAIT_MS: envInt(1_000, 600_000).default(5_000),
  /**
   * How long a cancel whose run does not exist yet waits for the run's submission (it can overtake it:
   * they are consumed apart). After that, a cancel of an unknown run is dropped with a warning.
   */
  PW_PLANNER_CANCEL_WAIT_MS: envInt(0, 86_400_000).default(600_000),
  /** Deliveries of one event before it goes to the DLQ. */
  PW_PLANNER_MAX_DELIVER: envInt(1, 1_000).default(20),
  /**
   * The largest run state the planner stores (bytes of JSON). Outputs, agent histories and outbox
   * payloads above their thresholds are stored once as blobs, so a run reaches this only with very many
   * steps; a transition that would pass it ends the run as `failed`, naming this variable. Must stay
   * below what the store takes (NATS max_payload, 1 MiB by default; 16 MiB for MongoDB).
   */
  PW_RUN_STATE_MAX_BYTES: envInt(16 * 1024, 15 * 1024 * 1024).default(512 * 1024),
  /**
   * Comma-separated nkey public keys (`U…`) of the approvers: an approval decision is applied only when
   * it carries a valid signature by one of them; any other is refused (DLQ, log, metric). Unset: decisions
   * are not checked (said at start) — every shipped deployment sets it (`pipewright nats-auth` prints it).
   */
  PW_APPROVER_PUBLIC_KEYS: envList.optional(),
});
export type PlannerConfig = ReturnType<typeof loadConfig>;

export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env) {
  return parseEnv(plannerEnv, env);
}
