import { addUsage, ZERO_USAGE, type Spend, type StepParked, type TaskSpent, type Usage } from '@pipewright/contracts';

/**
 * A spending report that is not a task's result (a park, a lost delivery's `task.spent`) is named by its
 * first reservation (unique per model call), else by who sent it and when, so a report delivered twice
 * is added to the run once (Builder.chargeOnce).
 */
export function spendKey(e: StepParked | TaskSpent): string {
  return e.spend?.[0]?.reservationId ?? `${e.type}:${e.stepId}:${e.owner ?? ''}@${e.at}`;
}

export const sumUsage = (spend: readonly Spend[]): Usage => spend.reduce((u, s) => addUsage(u, s.usage), { ...ZERO_USAGE });
export const sumCost = (spend: readonly Spend[]): number | undefined => (spend.some((s) => s.costUsd !== undefined) ? spend.reduce((n, s) => n + (s.costUsd ?? 0), 0) : undefined);
