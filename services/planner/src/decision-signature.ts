import { verifySignature, type Logger, type MessageContext } from '@pipewright/kit';
import type { PlannerConfig } from './config.js';

/**
 * The check an approval decision passes before the planner applies it: a valid signature, over the
 * stored subject and payload bytes, by one of PW_APPROVER_PUBLIC_KEYS. Returns why a decision is
 * refused, or undefined to apply it. Without keys configured every decision passes (said once, at start).
 */
export function decisionCheck(cfg: PlannerConfig, log: Logger): (ctx: Pick<MessageContext, 'subject' | 'data' | 'headers'>) => string | undefined {
  const keys = cfg.PW_APPROVER_PUBLIC_KEYS ?? [];
  if (keys.length === 0) {
    log.warn('PW_APPROVER_PUBLIC_KEYS unset: approval decisions are applied without a signature check (bus permissions are the only guard)');
    return () => undefined;
  }
  const trusted = new Set(keys);
  return (ctx) => {
    const verdict = verifySignature(trusted, ctx.subject, ctx.data, ctx.headers);
    return verdict.ok ? undefined : verdict.reason;
  };
}
