import { commonEnv, parseEnv } from '@pipewright/kit';
import { z } from 'zod';

const exampleEnv = commonEnv.extend({
  /** Where refund receipts live: `kv` (shared by every replica) or `memory` (this process only). */
  PW_EXAMPLE_RECEIPTS: z.enum(['kv', 'memory']).default('kv'),
});

export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env) {
  return parseEnv(exampleEnv, env);
}
