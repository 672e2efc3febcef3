// Type-level tests of the SDK, compiled by `tsc -b` (root tsconfig → packages/sdk/type-tests): each
// `@ts-expect-error` line must be an error, so a type guarantee that stops holding breaks the build.
/* eslint-disable @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-unsafe-member-access -- the lines expected to fail type-check yield error types */
import { all, eq, gt, ne, oneOf, pipeline, tpl, type Pipeline } from '@pipewright/sdk';
import { z } from 'zod';

const Triage = z.object({ category: z.enum(['refund', 'other']), priority: z.number(), order: z.object({ id: z.string() }) });
const base = pipeline('types', { input: z.object({ topic: z.string(), lines: z.array(z.object({ sku: z.string() })), count: z.number() }), defaults: { model: 'm' } })
  .tool('lookup')
  .llm('triage', { prompt: ({ input }) => tpl`About ${input.topic}`, output: Triage });

// --- templates: fields the input or an output does not have
base.llm('a', { prompt: ({ input }) => tpl`${input.topic}` });
// @ts-expect-error `topik` is not a field of the input
base.llm('b', { prompt: ({ input }) => tpl`${input.topik}` });
base.llm('c', { prompt: ({ steps }) => tpl`${steps.triage.output.order.id}` });
// @ts-expect-error `categroy` is misspelt
base.llm('d', { prompt: ({ steps }) => tpl`${steps.triage.output.categroy}` });
// @ts-expect-error no step `nope` was defined before
base.llm('e', { prompt: ({ steps }) => tpl`${steps.nope.output}` });
// @ts-expect-error a text output has no fields
base.llm('text', { prompt: 'hi' }).llm('f', { prompt: ({ steps }) => tpl`${steps.text.output.length}` });
// @ts-expect-error only `.output` of a step can be referenced
base.llm('g', { prompt: ({ steps }) => tpl`${steps.triage.input}` });
// @ts-expect-error an object is not a template part (only references and literals)
base.llm('h', { prompt: () => tpl`${{ a: 1 }}` });

// --- when: the compared value has the referenced field's type
base.llm('w1', { prompt: 'x', when: ({ steps }) => eq(steps.triage.output.category, 'refund') });
// @ts-expect-error 'refnud' is not a category
base.llm('w2', { prompt: 'x', when: ({ steps }) => eq(steps.triage.output.category, 'refnud') });
// @ts-expect-error a number field compared with a string
base.llm('w3', { prompt: 'x', when: ({ steps }) => ne(steps.triage.output.priority, 'high') });
base.llm('w4', { prompt: 'x', when: ({ steps }) => all(gt(steps.triage.output.priority, 2), oneOf(steps.triage.output.category, ['refund'])) });
// @ts-expect-error gt compares numbers only
base.llm('w5', { prompt: 'x', when: ({ steps }) => gt(steps.triage.output.category, 2) });

// --- map: `over` is an array; the item has the array's element type
base.map('m1', { over: ({ input }) => input.lines, step: { prompt: ({ item, index }) => tpl`${index}: ${item.sku}` } });
// @ts-expect-error `skew` is not a field of an item
base.map('m2', { over: ({ input }) => input.lines, step: { prompt: ({ item }) => tpl`${item.skew}` } });
// @ts-expect-error `over` must be a list
base.map('m3', { over: ({ input }) => input.topic, step: { prompt: 'x' } });
// @ts-expect-error an index is a number: no fields
base.map('m4', { over: ({ input }) => input.lines, step: { prompt: ({ index }) => tpl`${index.value}` } });

// --- agents and approvals: tool names are the declared ones
base.agent('t1', { prompt: 'x', tools: ['lookup'], approval: { tools: ['lookup'] } });
// @ts-expect-error `lokup` is not a declared tool
base.agent('t2', { prompt: 'x', tools: ['lokup'] });
// @ts-expect-error approval names an undeclared tool
base.agent('t3', { prompt: 'x', tools: ['lookup'], approval: { tools: ['refund'] } });

// --- needs, ids
base.llm('n1', { prompt: 'x', needs: ['triage'] });
// @ts-expect-error needs names a step that does not exist
base.llm('n2', { prompt: 'x', needs: ['triag'] });
// @ts-expect-error a step id already used
base.llm('triage', { prompt: 'x' });

// --- end: the result is a reference the compiler checks
base.end('done', { when: ({ steps }) => eq(steps.triage.output.category, 'other'), result: ({ steps }) => steps.triage.output.order });
// @ts-expect-error `ordr` is misspelt
base.end('done2', { result: ({ steps }) => steps.triage.output.ordr });

// --- sub-pipelines: the child's input fields get values of their types; the step's output is the child's
const child = pipeline('child', { input: z.object({ id: z.string(), n: z.number() }), defaults: { model: 'm' } }).llm('answer', { prompt: ({ input }) => tpl`${input.id}`, output: z.object({ ok: z.boolean() }) });
base.pipeline('sub1', { pipeline: child, input: ({ steps }) => ({ id: steps.triage.output.order.id, n: steps.triage.output.priority }) }).llm('after', { prompt: ({ steps }) => tpl`${steps.sub1.output.ok}` });
// @ts-expect-error `n` is a number: a category (string) does not fit
base.pipeline('sub2', { pipeline: child, input: ({ steps }) => ({ id: 'x', n: steps.triage.output.category }) });
// @ts-expect-error the child's input requires `n`
base.pipeline('sub3', { pipeline: child, input: ({ steps }) => ({ id: steps.triage.output.order.id }) });
// @ts-expect-error the child's output has no `nope`
base.pipeline('sub4', { pipeline: child, input: ({ steps }) => ({ id: 'x', n: steps.triage.output.priority }) }).llm('after', { prompt: ({ steps }) => tpl`${steps.sub4.output.nope}` });

// --- signals: the payload's type
base.signal('approve', { output: z.object({ ok: z.boolean() }) }).llm('s1', { prompt: ({ steps }) => tpl`${steps.approve.output.ok}` });
// @ts-expect-error a signal's payload without a schema has no known fields
base.signal('ping').llm('s2', { prompt: ({ steps }) => tpl`${steps.ping.output.ok}` });

// --- the run's output type: the last step's, or an end step's result
type OutputOf<P> = P extends Pipeline<infer _I, infer _S, infer _T, infer L, infer E> ? L | E : never;
const _ended = base.end('stop', { result: ({ steps }) => steps.triage.output.category }).llm('last', { prompt: 'x', output: z.object({ n: z.number() }) });
const out: OutputOf<typeof _ended> = 'refund';
const out2: OutputOf<typeof _ended> = { n: 1 };
// @ts-expect-error neither the last step's output nor an end's result
const out3: OutputOf<typeof _ended> = { m: 1 };
export { out, out2, out3 };
