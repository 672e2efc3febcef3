/**
 * Msg id of a run's timer on `pw.runs.deadline`: its deadline (`generation` counts the re-publications
 * of a far-off deadline), or its settle deadline once it ended with tasks running (`settle`). A resumed
 * run's timers (life ≥ 1, see `lifeOf`) are named apart from the first life's.
 */
export function deadlineTimerMsgId(runId: string, generation: number | 'settle', life = 0): string {
  return life === 0 ? `${runId}:deadline:${generation}` : `${runId}:deadline:r${life}.${generation}`;
}
