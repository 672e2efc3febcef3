import { commonEnv, parseEnv } from '@pipewright/kit';

const budgetEnv = commonEnv.extend({});
export type BudgetConfig = ReturnType<typeof loadConfig>;

export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env) {
  return parseEnv(budgetEnv, env);
}
