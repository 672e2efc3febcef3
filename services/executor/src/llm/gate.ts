import type { ChatMessage, ErrorInfo, ModelPrice, ModelTarget, StepCommand } from '@pipewright/contracts';

/** One model call about to be made, as a gate (e.g. the budget) sees it. */
export interface GatedCall {
  cmd: StepCommand;
  model: ModelTarget;
  /** Call number within this dispatch of the step (1 = first), fallbacks and re-asks included. */
  call: number;
  /**
   * Which delivery of which stream message this call belongs to (`s<seq>d<n>`), when run from the bus:
   * a redelivered, parked or taken-over command makes — and pays for — its calls anew.
   */
  delivery: string | undefined;
  messages: readonly ChatMessage[];
  maxOutputTokens: number | undefined;
}

/** A gate's answer before a call. */
export type GateDecision =
  /**
   * Go ahead. With a `reservation`, the call is metered: its spending is reported with the task's result
   * (a `Spend` naming the reservation, priced at `price`), which the budget service books from there.
   */
  | { kind: 'admitted'; reservation?: { id: string; price?: ModelPrice; /** What the budget set aside for the call. */ reservedUsd?: number } }
  /** The step fails with this error (e.g. `budget_exceeded`); no retry, no fallback. */
  | { kind: 'refused'; error: ErrorInfo }
  /** Not now: the command is handed back to the stream and tried again after `delayMs`. */
  | { kind: 'deferred'; delayMs: number; reason: string };

/**
 * A check made before every model call (retries, re-asks and fallbacks included), so that spending is
 * reserved per call. The executor runs without one when none is set.
 */
export interface CallGate {
  admit(call: GatedCall): Promise<GateDecision>;
  /**
   * Whether admitted calls are metered (a budget): a metered call needs a bounded output, so a step
   * without `maxOutputTokens` gets the default cap. Unset: not metered.
   */
  readonly meters?: boolean;
}
