import { commonEnv, envInt, parseEnv } from '@pipewright/kit';

const plannerEnv = commonEnv.extend({
  /** Events handled at once by one planner process. */
  PW_PLANNER_CONCURRENCY: envInt(1, 10_000).default(64),
  /** AckWait of the planner's consumers. */
  PW_PLANNER_ACK_WAIT_MS: envInt(1_000, 600_000).default(5_000),
  /** Deliveries of one event before it goes to the DLQ. */
  PW_PLANNER_MAX_DELIVER: envInt(1, 1_000).default(20),
});
export type PlannerConfig = ReturnType<typeof loadConfig>;

export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env) {
  return parseEnv(plannerEnv, env);
}
