import type { ChatMessage, ErrorInfo, ModelTarget, StepCommand, Usage } from '@pipewright/contracts';

/** One model call about to be made, as a gate (e.g. the budget) sees it. */
export interface GatedCall {
  cmd: StepCommand;
  model: ModelTarget;
  /** Call number within this dispatch of the step (1 = first), fallbacks and re-asks included. */
  call: number;
  /**
   * Which delivery of which stream message this call belongs to (`s<seq>d<n>`), when run from the bus:
   * a redelivered, re-published (parked) or replayed command makes — and pays for — its calls anew.
   */
  delivery: string | undefined;
  messages: readonly ChatMessage[];
  maxOutputTokens: number | undefined;
}

/** A gate's answer before a call. */
export type GateDecision =
  /**
   * Go ahead; `settle` is called once after the call with its usage and the model that answered, or
   * `undefined` when no answer came. It resolves to what the call cost in USD, when that is known.
   */
  | { kind: 'admitted'; settle(usage: Usage | undefined): Promise<number | undefined> }
  /** The step fails with this error (e.g. `budget_exceeded`); no retry, no fallback. */
  | { kind: 'refused'; error: ErrorInfo }
  /** Not now: the command is handed back to the stream and tried again after `delayMs`. */
  | { kind: 'deferred'; delayMs: number; reason: string };

/**
 * A check made before every model call (retries, re-asks and fallbacks included), so that spending is
 * reserved per call and released or committed after it. The executor runs without one when none is set.
 */
export interface CallGate {
  admit(call: GatedCall): Promise<GateDecision>;
}
