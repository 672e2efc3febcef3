/**
 * Msg id of a run's timer on `pw.runs.deadline`: its deadline (`generation` counts the re-publications
 * of a far-off deadline), or its settle deadline once it ended with tasks running (`settle`). A resumed
 * run's timers (life ≥ 1, see `lifeOf`) are named apart from the first life's.
 */
export function deadlineTimerMsgId(runId: string, generation: number | 'settle', life = 0): string {
  return life === 0 ? `${runId}:deadline:${generation}` : `${runId}:deadline:r${life}.${generation}`;
}

/** The life a timer was published for, read from its msg id (a re-publication keeps it). */
export function timerLifeOf(msgId: string): number {
  const m = /:deadline:r(\d+)\./.exec(msgId);
  return m ? Number(m[1]) : 0;
}

/**
 * Msg id of a step's timer on `pw.runs.deadline` (a `signal` step's timeout): one per step attempt, so a
 * resumed run's new attempt gets its own; `generation` counts re-publications of a far-off one.
 */
export function stepTimerMsgId(runId: string, stepId: string, attempt: number, generation = 0): string {
  return `${runId}:step-timer:${stepId}:a${attempt}:${generation}`;
}
