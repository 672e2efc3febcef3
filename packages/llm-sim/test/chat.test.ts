import { Ajv } from 'ajv';
import { zodResponseFormat } from 'openai/helpers/zod';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { client, sim, user } from './helpers.js';

const ajv = new Ajv({ strict: false });

const TICKET_SCHEMA = {
  type: 'object',
  properties: {
    title: { type: 'string', minLength: 3, maxLength: 40 },
    priority: { type: 'integer', minimum: 1, maximum: 5 },
    score: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1 },
    urgent: { type: 'boolean' },
    category: { enum: ['billing', 'tech', 'other'] },
    tags: { type: 'array', items: { type: 'string' }, minItems: 2 },
    owner: {
      type: 'object',
      properties: { name: { type: 'string' }, team: { anyOf: [{ type: 'string' }, { type: 'null' }] } },
      required: ['name', 'team'],
      additionalProperties: false,
    },
    version: { const: 'v1' },
  },
  required: ['title', 'priority', 'score', 'urgent', 'category', 'tags', 'owner', 'version'],
  additionalProperties: false,
} as const;

describe('chat completions', () => {
  it('answers a text request in the OpenAI shape with usage', async () => {
    const s = await sim();
    const res = await client(s).chat.completions.create({ model: 'sim-small', messages: user('What is the capital of France?') });
    expect(res.object).toBe('chat.completion');
    expect(res.id).toMatch(/^chatcmpl-/);
    expect(res.model).toBe('sim-small');
    const choice = res.choices[0]!;
    expect(choice.finish_reason).toBe('stop');
    expect(choice.message.role).toBe('assistant');
    expect(choice.message.refusal).toBeNull();
    expect(choice.message.content).toBe('Simulated answer to: What is the capital of France?');
    expect(res.usage).toEqual({ prompt_tokens: 8, completion_tokens: 13, total_tokens: 21 });
  });

  it('is deterministic for the same model, messages and seed', async () => {
    const s = await sim({ seed: 7 });
    const c = client(s);
    const body = { model: 'm', messages: user('x'), response_format: zodResponseFormat(z.object({ a: z.string() }), 'r') };
    const a = await c.chat.completions.create(body);
    const b = await c.chat.completions.create(body);
    expect(a.choices[0]!.message.content).toBe(b.choices[0]!.message.content);
    const other = await c.chat.completions.create({ ...body, messages: user('y') });
    expect(other.choices[0]!.message.content).not.toBe(a.choices[0]!.message.content);
  });

  it('streams chunks, a usage chunk and [DONE]', async () => {
    const s = await sim();
    const stream = await client(s).chat.completions.create({
      model: 'sim-small',
      messages: user('Tell me a long story about a lighthouse keeper'),
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let finish: string | null = null;
    let usage: unknown;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks += 1;
      expect(chunk.object).toBe('chat.completion.chunk');
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(chunks).toBeGreaterThan(3);
    expect(text).toBe('Simulated answer to: Tell me a long story about a lighthouse keeper');
    expect(finish).toBe('stop');
    expect(usage).toEqual({ prompt_tokens: 12, completion_tokens: 17, total_tokens: 29 });
  });

  it('generates json_schema answers that validate', async () => {
    const s = await sim({ seed: 42 });
    const res = await client(s).chat.completions.create({
      model: 'sim-small',
      messages: user('open a ticket'),
      response_format: { type: 'json_schema', json_schema: { name: 'ticket', schema: TICKET_SCHEMA, strict: true } },
    });
    const value: unknown = JSON.parse(res.choices[0]!.message.content!);
    expect(ajv.validate(TICKET_SCHEMA, value), ajv.errorsText()).toBe(true);
    expect(value).toMatchObject({ category: 'billing', version: 'v1', title: expect.stringMatching(/^title of [0-9a-f]{8}$/) });
  });

  it('works with chat.completions.parse and zodResponseFormat', async () => {
    const s = await sim();
    const Plan = z.object({
      action: z.enum(['refund', 'reply', 'escalate']),
      steps: z.array(z.object({ n: z.number().int().min(1), text: z.string() })),
      amount: z.number().nullable(),
    });
    const res = await client(s).chat.completions.parse({
      model: 'sim-small',
      messages: user('plan it'),
      response_format: zodResponseFormat(Plan, 'plan'),
    });
    const parsed = res.choices[0]!.message.parsed!;
    expect(Plan.parse(parsed)).toEqual(parsed);
    expect(parsed.action).toBe('refund');
    expect(parsed.steps.length).toBeGreaterThanOrEqual(1);
  });

  it('answers json_object with a small JSON object', async () => {
    const s = await sim();
    const res = await client(s).chat.completions.create({
      model: 'sim-small',
      messages: user('give json'),
      response_format: { type: 'json_object' },
    });
    expect(JSON.parse(res.choices[0]!.message.content!)).toMatchObject({ answer: 'Simulated answer to: give json' });
  });

  it('returns scripted tool calls with finish_reason tool_calls', async () => {
    const s = await sim({
      scripts: [{ match: { contains: 'weather' }, reply: { toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] } }],
    });
    const tools = [
      { type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } },
    ];
    const res = await client(s).chat.completions.create({ model: 'm', messages: user('weather in Paris?'), tools });
    const choice = res.choices[0]!;
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.content).toBeNull();
    const call = choice.message.tool_calls![0]!;
    expect(call.type).toBe('function');
    expect(call.id).toMatch(/^call_/);
    if (call.type !== 'function') throw new Error('expected a function call');
    expect(call.function.name).toBe('get_weather');
    expect(JSON.parse(call.function.arguments)).toEqual({ city: 'Paris' });
  });

  it('streams tool calls that the stream helper reassembles', async () => {
    const s = await sim({
      scripts: [{ reply: { toolCalls: [{ name: 'lookup', arguments: { orderId: 'A-1234567890', deep: { x: [1, 2, 3] } } }] } }],
    });
    const stream = client(s).chat.completions.stream({
      model: 'm',
      messages: user('find my order'),
      tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object' } } }],
    });
    const final = await stream.finalChatCompletion();
    const call = final.choices[0]!.message.tool_calls![0]!;
    if (call.type !== 'function') throw new Error('expected a function call');
    expect(JSON.parse(call.function.arguments)).toEqual({ orderId: 'A-1234567890', deep: { x: [1, 2, 3] } });
    expect(final.choices[0]!.finish_reason).toBe('tool_calls');
  });

  it('calls a required tool with arguments generated from its parameters', async () => {
    const s = await sim();
    const parameters = {
      type: 'object',
      properties: { amount: { type: 'number', minimum: 10, maximum: 20 }, reason: { type: 'string' } },
      required: ['amount', 'reason'],
    };
    const res = await client(s).chat.completions.create({
      model: 'm',
      messages: user('refund me'),
      tools: [{ type: 'function', function: { name: 'refund', parameters } }],
      tool_choice: { type: 'function', function: { name: 'refund' } },
    });
    const call = res.choices[0]!.message.tool_calls![0]!;
    if (call.type !== 'function') throw new Error('expected a function call');
    expect(call.function.name).toBe('refund');
    expect(ajv.validate(parameters, JSON.parse(call.function.arguments))).toBe(true);
  });

  it('plays a replies sequence, repeating the last reply', async () => {
    const s = await sim({
      scripts: [
        { match: { model: 'other' }, reply: { content: 'not me' } },
        { match: { contains: 'count' }, replies: [{ content: 'one' }, { json: { n: 2 } }, { content: 'three' }] },
      ],
    });
    const c = client(s);
    const answers: (string | null)[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await c.chat.completions.create({ model: 'sim', messages: user('count please') });
      answers.push(r.choices[0]!.message.content);
    }
    expect(answers).toEqual(['one', '{"n":2}', 'three', 'three', 'three']);
    const other = await c.chat.completions.create({ model: 'other', messages: user('count') });
    expect(other.choices[0]!.message.content).toBe('not me');
  });

  it('truncates at max_completion_tokens with finish_reason length', async () => {
    const s = await sim({ scripts: [{ reply: { content: 'x'.repeat(400) } }] });
    const res = await client(s).chat.completions.create({ model: 'm', messages: user('long'), max_completion_tokens: 10 });
    expect(res.choices[0]!.finish_reason).toBe('length');
    expect(res.choices[0]!.message.content).toHaveLength(40);
    expect(res.usage!.completion_tokens).toBe(10);
  });
});
