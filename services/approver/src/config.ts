import { commonEnv, parseEnv } from '@pipewright/kit';

const approverEnv = commonEnv.extend({});
export type ApproverConfig = ReturnType<typeof loadConfig>;

export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env) {
  return parseEnv(approverEnv, env);
}
