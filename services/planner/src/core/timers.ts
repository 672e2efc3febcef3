/**
 * Msg id of a run's timer on `pw.runs.deadline`: its deadline (`generation` counts the re-publications
 * of a far-off deadline), or its settle deadline once it ended with tasks running (`settle`).
 */
export function deadlineTimerMsgId(runId: string, generation: number | 'settle'): string {
  return `${runId}:deadline:${generation}`;
}
