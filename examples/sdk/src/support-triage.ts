// The support-triage pipeline written with @pipewright/sdk. examples/pipelines/support-triage.yaml is
// the same spec in YAML (test/sdk/support-triage-spec.test.ts holds them equal); `node
// examples/sdk/dist/emit.js` prints this one as YAML.
import { eq, ne, pipeline, tpl } from '@pipewright/sdk';
import { z } from 'zod';

/** A customer's ticket and the lines of the order it is about. */
export const TicketInput = z.object({
  ticket: z.object({ subject: z.string(), body: z.string(), customer: z.string() }),
  lines: z.array(z.object({ sku: z.string(), description: z.string(), qty: z.number(), unitCents: z.number() })).min(1),
});

export const Triage = z.object({
  category: z.enum(['refund', 'shipping', 'account', 'other']),
  priority: z.enum(['low', 'normal', 'high']),
  orderId: z.string(),
});

export const OrderFacts = z.object({ orderId: z.string(), status: z.string(), paidCents: z.number() });

export const LineVerdict = z.object({ sku: z.string(), refundable: z.boolean(), why: z.string() });

export const RefundProposal = z.object({ orderId: z.string(), cents: z.number(), reply: z.string() });

export const supportTriage = pipeline('support-triage', {
  version: '1',
  description: 'Triage a support ticket; for a refund, look the order up, judge each order line, and propose a refund a person approves.',
  input: TicketInput,
  defaults: { model: 'sim-small', timeoutMs: 10_000, maxOutputTokens: 512 },
  limits: { maxSteps: 60, deadlineMs: 86_400_000 },
  budget: { maxUsd: 1 },
})
  // registers itself (serveTool publishes its description and schema): named here without a schema
  .tool('lookup-order')
  .llm('triage', {
    system: 'You triage the support tickets of a small shop.',
    prompt: ({ input }) => tpl`Triage this ticket from ${input.ticket.customer}. Subject: ${input.ticket.subject}. Body: ${input.ticket.body}`,
    output: Triage,
  })
  .end('not-a-refund', {
    description: 'Anything but a refund is answered by the triage alone.',
    when: ({ steps }) => ne(steps.triage.output.category, 'refund'),
    result: ({ steps }) => steps.triage.output,
  })
  .agent('lookup', {
    when: ({ steps }) => eq(steps.triage.output.category, 'refund'),
    prompt: ({ steps }) => tpl`Look up order ${steps.triage.output.orderId} and report its status and what was paid.`,
    tools: ['lookup-order'],
    output: OrderFacts,
    maxIterations: 4,
  })
  .map('lines', {
    needs: ['lookup'],
    over: ({ input }) => input.lines,
    concurrency: 2,
    maxItems: 50,
    step: {
      prompt: ({ item, steps }) => tpl`Order ${steps.triage.output.orderId}, line ${item.sku} (${item.description}, ${item.qty} at ${item.unitCents} cents). Is this line refundable under the ticket: ${steps.triage.output.category}?`,
      output: LineVerdict,
    },
  })
  .llm('refund', {
    prompt: ({ steps }) => tpl`Propose a refund for order ${steps.lookup.output.orderId} (paid ${steps.lookup.output.paidCents} cents) from these line verdicts: ${steps.lines.output}`,
    output: RefundProposal,
    approval: { always: true },
  });
