import { z } from 'zod';
import { ToolRegistration } from '../tool.js';

/**
 * The tool registry as listed (`GET /api/v1/tools`, `pipewright tools list`): every valid entry, in name
 * order, and the keys whose entries do not parse (so a broken registration is seen, not hidden).
 */
export const ToolList = z.strictObject({
  tools: z.array(ToolRegistration),
  invalid: z.array(z.strictObject({ name: z.string(), reason: z.string() })),
});
export type ToolList = z.infer<typeof ToolList>;
