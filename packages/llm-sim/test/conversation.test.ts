// Scripted conversations: an agent's simulated model calls a tool, reads the result, then answers.
// Driven by the real openai client, the way the executor drives it: each turn is a new request carrying
// the whole history, under its own Idempotency-Key (`<run>:<step>:t<turn>`).
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { describe, expect, it } from 'vitest';
import { parseSimConfig, SimConfigError } from '../src/index.js';
import type { SimConfig } from '../src/index.js';
import { client, sim } from './helpers.js';

const TOOLS = [
  { type: 'function' as const, function: { name: 'lookup-order', parameters: { type: 'object', properties: { orderId: { type: 'string' } } } } },
  { type: 'function' as const, function: { name: 'refund', parameters: { type: 'object', properties: { orderId: { type: 'string' }, cents: { type: 'integer' } } } } },
];

const REFUND_DESK: SimConfig = {
  scripts: [
    {
      match: { contains: 'Refund desk' },
      conversation: [
        { content: 'Let me look the order up.', toolCalls: [{ name: 'lookup-order', arguments: { orderId: 'o-1002' } }] },
        { toolCalls: [{ name: 'refund', arguments: { orderId: 'o-1002', cents: 12_500 } }] },
        { json: { reply: 'Refunded.' } },
      ],
    },
  ],
};

/** What one turn's answer is: the tool call's name and arguments, or the text. */
interface Turn {
  tool?: { id: string; name: string; args: unknown };
  content?: string | null;
}

async function turn(s: Awaited<ReturnType<typeof sim>>, messages: ChatCompletionMessageParam[], key: string): Promise<Turn> {
  const res = await client(s).chat.completions.create({ model: 'sim-small', messages, tools: TOOLS }, { headers: { 'Idempotency-Key': key } });
  const call = res.choices[0]?.message.tool_calls?.[0];
  if (call?.type === 'function') return { tool: { id: call.id, name: call.function.name, args: JSON.parse(call.function.arguments) }, content: res.choices[0]?.message.content };
  return { content: res.choices[0]?.message.content };
}

/** The history after a tool call and its result, as an agent loop appends them. */
function withResult(messages: ChatCompletionMessageParam[], t: Turn, result: unknown): ChatCompletionMessageParam[] {
  const call = t.tool!;
  return [
    ...messages,
    { role: 'assistant', content: null, tool_calls: [{ id: call.id, type: 'function', function: { name: call.name, arguments: JSON.stringify(call.args) } }] },
    { role: 'tool', tool_call_id: call.id, content: JSON.stringify(result) },
  ];
}

describe('scripted conversations', () => {
  it('plays one reply per model turn: a tool call, another, then the final answer', async () => {
    const s = await sim(REFUND_DESK);
    const start: ChatCompletionMessageParam[] = [{ role: 'user', content: 'Refund desk: order o-1002 arrived broken' }];
    const t1 = await turn(s, start, 'run-1:desk:t1');
    expect(t1).toMatchObject({ tool: { name: 'lookup-order', args: { orderId: 'o-1002' } }, content: 'Let me look the order up.' });
    const h1 = withResult(start, t1, { status: 'paid', totalCents: 12_500 });
    const t2 = await turn(s, h1, 'run-1:desk:t2');
    expect(t2).toMatchObject({ tool: { name: 'refund', args: { orderId: 'o-1002', cents: 12_500 } }, content: null });
    const h2 = withResult(h1, t2, { refundId: 'rf-1' });
    expect(await turn(s, h2, 'run-1:desk:t3')).toEqual({ content: '{"reply":"Refunded."}' });
    // past the end, the last reply repeats
    expect(await turn(s, withResult(h2, t2, { refundId: 'rf-1' }), 'run-1:desk:t4')).toEqual({ content: '{"reply":"Refunded."}' });
  });

  it('gives a retried turn the same reply, with or without a key, and keeps conversations apart', async () => {
    const s = await sim(REFUND_DESK);
    const a: ChatCompletionMessageParam[] = [{ role: 'user', content: 'Refund desk: ticket A' }];
    const b: ChatCompletionMessageParam[] = [{ role: 'user', content: 'Refund desk: ticket B' }];
    const a1 = await turn(s, a, 'run-a:desk:t1');
    // the same turn again (a retry, an executor's takeover): the same reply, not the next one
    expect((await turn(s, a, 'run-a:desk:t1')).tool?.name).toBe('lookup-order');
    // another conversation starts at its own first turn, whatever the first one did
    expect((await turn(s, b, 'run-b:desk:t1')).tool?.name).toBe('lookup-order');
    const a2 = withResult(a, a1, { status: 'paid' });
    // no key at all: the position still comes from the history
    expect((await turn(s, a2, '')).tool?.name).toBe('refund');
    expect((await turn(s, a2, 'run-a:desk:t2')).tool?.name).toBe('refund');
    // every turn was counted, under its own key
    expect(s.counters().totalCalls).toBe(5);
  });

  it('is one of reply, replies or conversation', () => {
    const both = () => parseSimConfig({ scripts: [{ reply: { content: 'x' }, conversation: [{ content: 'y' }] }] });
    expect(both).toThrow(SimConfigError);
    expect(both).toThrow(/use one of reply, replies or conversation/);
    expect(() => parseSimConfig({ scripts: [{ conversation: [] }] })).toThrow(/scripts\.0\.conversation/);
  });
});
