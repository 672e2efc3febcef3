import type { ApprovalRecord } from '../store/types.js';

/** Slack's limit for one text object is 3000 characters; arguments are cut well before it. */
const MAX_ARGS_CHARS = 2_500;

/** Action ids of the buttons; `value` carries the approval id. */
export const SLACK_ACTIONS = { approve: 'pw_approve', reject: 'pw_reject' } as const;

/** mrkdwn treats `&`, `<` and `>` as control characters: escape them in anything we did not write. */
export const slackEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

type Block = Record<string, unknown>;
const md = (text: string) => ({ type: 'mrkdwn', text });
const plain = (text: string) => ({ type: 'plain_text', text: text.slice(0, 150) });

/** Incoming-webhook message for a pending (or escalated) approval: context, then Approve / Reject buttons. */
export function slackApprovalMessage(record: ApprovalRecord, links: { inboxUrl?: string; traceUrl?: string }): { text: string; blocks: Block[] } {
  const r = record.request;
  const what = r.action.kind === 'tool' ? `tool \`${slackEscape(r.action.tool ?? '?')}\`` : `step \`${slackEscape(r.stepId)}\``;
  const title = record.escalation ? `Escalated to ${record.escalation.to}: approval needed` : 'Approval needed';
  const fields = [
    md(`*Run*\n\`${slackEscape(r.runId)}\`${r.pipeline ? ` (${slackEscape(r.pipeline)})` : ''}`),
    md(`*Step*\n\`${slackEscape(r.stepId)}\``),
    md(`*Why*\n${slackEscape(r.reason)}`),
    ...(r.confidence !== undefined ? [md(`*Confidence*\n${Math.round(r.confidence * 100)}%`)] : []),
    ...(r.costSoFarUsd !== undefined && r.action.kind !== 'budget' ? [md(`*Cost so far*\n$${r.costSoFarUsd.toFixed(4)}`)] : []),
    ...budgetFields(record),
    ...(record.deadlineAt ? [md(`*Decide by*\n${record.deadlineAt}`)] : []),
  ];
  const blocks: Block[] = [
    { type: 'header', text: plain(title) },
    { type: 'section', text: md(r.action.kind === 'budget' ? `The run reached its budget: ${what} waits for a decision.` : `The ${what} waits for a decision.`), fields: fields.slice(0, 10) },
  ];
  if (r.action.arguments !== undefined) blocks.push({ type: 'section', text: md(`*${r.action.kind === 'budget' ? 'Proposed limits' : 'Arguments'}*\n\`\`\`${slackEscape(clip(JSON.stringify(r.action.arguments, null, 2)))}\`\`\``) });
  if (r.reasoning) blocks.push({ type: 'section', text: md(`*Model's reasoning*\n${slackEscape(clip(r.reasoning))}`) });
  const context = [`approval \`${slackEscape(record.approvalId)}\``, ...(r.traceId ? [links.traceUrl ? `<${links.traceUrl}|trace ${r.traceId}>` : `trace \`${r.traceId}\``] : [])];
  blocks.push({ type: 'context', elements: [md(context.join(' · '))] });
  blocks.push({
    type: 'actions',
    block_id: 'pw_decision',
    elements: [
      { type: 'button', action_id: SLACK_ACTIONS.approve, style: 'primary', text: plain('Approve'), value: record.approvalId },
      {
        type: 'button',
        action_id: SLACK_ACTIONS.reject,
        style: 'danger',
        text: plain('Reject'),
        value: record.approvalId,
        confirm: { title: plain('Reject this action?'), text: plain('The step will not run.'), confirm: plain('Reject'), deny: plain('Cancel') },
      },
      ...(links.inboxUrl ? [{ type: 'button', action_id: 'pw_open', text: plain('Edit in inbox'), url: links.inboxUrl }] : []),
    ],
  });
  return { text: slackEscape(`${title}: ${subject(record)} in run ${r.runId}`), blocks };
}

/** What the approval is about, in a few words. */
function subject(record: ApprovalRecord): string {
  const a = record.request.action;
  return a.kind === 'tool' ? `tool ${a.tool ?? '?'}` : a.kind === 'budget' ? `more budget for step ${record.request.stepId}` : `step ${record.request.stepId}`;
}

/** A budget request: the run limit in force (and which was reached), what the run spent, what is proposed. */
function budgetFields(record: ApprovalRecord): Block[] {
  const b = record.request.budget;
  if (record.request.action.kind !== 'budget' || !b) return [];
  const proposed = { ...b.current, ...((record.request.action.arguments ?? {}) as Record<string, unknown>) };
  const limits = (l: Record<string, unknown>) =>
    [...(typeof l['maxUsd'] === 'number' ? [`$${Number(l['maxUsd'].toFixed(6))}`] : []), ...(typeof l['maxTokens'] === 'number' ? [`${l['maxTokens']} tokens`] : [])].join(' and ');
  return [md(`*Run limit now*\n${limits(b.current)} (${b.exceeded} reached)`), md(`*Spent*\n$${Number(b.spentUsd.toFixed(6))}, ${b.spentTokens} tokens`), md(`*Proposed*\n${limits(proposed)}`)];
}

/** What replaces the message after a decision in Slack (posted to the interaction's `response_url`). */
export function slackDecidedMessage(record: ApprovalRecord, note?: string): Record<string, unknown> {
  const d = record.decision;
  const verdict = d ? `${d.decision === 'rejected' ? ':x: Rejected' : ':white_check_mark: Approved'}${d.decision === 'edited' ? ' with edited arguments' : ''} by ${slackEscape(d.by)} (${d.via})` : 'Not decided';
  const text = `${verdict}: ${slackEscape(subject(record))} in run ${record.request.runId}`;
  const lines = [verdict, ...(d?.reason ? [`Reason: ${slackEscape(d.reason)}`] : []), ...(note ? [slackEscape(note)] : []), `approval \`${slackEscape(record.approvalId)}\``];
  return { replace_original: true, text, blocks: [{ type: 'section', text: md(lines.join('\n')) }] };
}

function clip(s: string): string {
  return s.length > MAX_ARGS_CHARS ? `${s.slice(0, MAX_ARGS_CHARS)}…` : s;
}
