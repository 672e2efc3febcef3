import { Ajv } from 'ajv';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { client, sim, user } from './helpers.js';

const SCHEMA = {
  type: 'object',
  properties: { action: { type: 'string' }, amount: { type: 'number' } },
  required: ['action', 'amount'],
  additionalProperties: false,
};
const jsonSchemaFormat = { type: 'json_schema' as const, json_schema: { name: 'decision', schema: SCHEMA, strict: true } };

/** Resolves to the error a call rejects with (fails the test if it resolves). */
async function errorOf(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to fail');
}

const forced = (fault: string): { headers: Record<string, string> } => ({ headers: { 'X-Sim-Fault': fault } });

describe('fault injection', () => {
  it('429 carries Retry-After and raises RateLimitError', async () => {
    const s = await sim({ faults: { retryAfterS: 3 } });
    const err = await errorOf(client(s).chat.completions.create({ model: 'm', messages: user('hi') }, forced('429')));
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    const e = err as InstanceType<typeof OpenAI.RateLimitError>;
    expect(e.status).toBe(429);
    expect(e.headers.get('retry-after')).toBe('3');
    expect(e.code).toBe('rate_limit_exceeded');
    expect(s.counters().byOutcome).toEqual({ '429': 1 });
  });

  it('500 and 503 raise InternalServerError with their status', async () => {
    const s = await sim();
    const c = client(s);
    for (const status of [500, 503]) {
      const err = await errorOf(c.chat.completions.create({ model: 'm', messages: user('hi') }, forced(String(status))));
      expect(err).toBeInstanceOf(OpenAI.InternalServerError);
      expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(status);
    }
  });

  it('drop resets the connection: APIConnectionError, and the server keeps serving', async () => {
    const s = await sim();
    const c = client(s);
    const err = await errorOf(c.chat.completions.create({ model: 'm', messages: user('hi') }, forced('drop')));
    expect(err).toBeInstanceOf(OpenAI.APIConnectionError);
    const ok = await c.chat.completions.create({ model: 'm', messages: user('again') });
    expect(ok.choices[0]!.message.content).toContain('again');
    expect(s.counters().byOutcome).toEqual({ drop: 1, ok: 1 });
  });

  it('hang never answers: the client times out', async () => {
    const s = await sim();
    const started = Date.now();
    const err = await errorOf(client(s, 200).chat.completions.create({ model: 'm', messages: user('hi') }, forced('hang')));
    expect(err).toBeInstanceOf(OpenAI.APIConnectionTimeoutError);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(s.counters().byOutcome).toEqual({ hang: 1 });
  });

  it('close() ends hung requests promptly', async () => {
    const s = await sim({ faults: { rateHang: 1 } });
    const pending = errorOf(client(s).chat.completions.create({ model: 'm', messages: user('hi') }));
    await expect.poll(() => s.counters().totalCalls, { timeout: 2_000 }).toBe(1);
    const started = Date.now();
    await s.close();
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(await pending).toBeInstanceOf(OpenAI.APIConnectionError);
  });

  it('malformed alternates a repairable fenced variant and a truncated one', async () => {
    const s = await sim({ faults: { rateMalformed: 1 } });
    const c = client(s);
    const ask = async (): Promise<string> =>
      (await c.chat.completions.create({ model: 'm', messages: user('decide'), response_format: jsonSchemaFormat })).choices[0]!.message.content!;
    const fenced = await ask();
    const truncated = await ask();
    expect(() => JSON.parse(fenced) as unknown).toThrow();
    expect(() => JSON.parse(truncated) as unknown).toThrow();
    const inner = /```json\n([\s\S]*?)\n```/.exec(fenced)?.[1];
    expect(inner).toBeDefined();
    expect(new Ajv().validate(SCHEMA, JSON.parse(inner!))).toBe(true);
    expect(fenced).toMatch(/```\n\S/); // trailing prose after the fence
    expect(truncated.startsWith('{')).toBe(true);
    expect(s.counters().byOutcome).toEqual({ malformed: 2 });
  });

  it('malformed variants can be forced by header', async () => {
    const s = await sim();
    const c = client(s);
    const r = await c.chat.completions.create({ model: 'm', messages: user('x'), response_format: { type: 'json_object' } }, forced('malformed-truncated'));
    expect(r.choices[0]!.message.content!.includes('```')).toBe(false);
    expect(() => JSON.parse(r.choices[0]!.message.content!) as unknown).toThrow();
    expect(s.counters().byOutcome).toEqual({ malformed: 1 });
  });

  it('schema-break returns valid JSON missing a required property', async () => {
    const s = await sim();
    const r = await client(s).chat.completions.create({ model: 'm', messages: user('decide'), response_format: jsonSchemaFormat }, forced('schema-break'));
    const value = JSON.parse(r.choices[0]!.message.content!) as Record<string, unknown>;
    expect(new Ajv().validate(SCHEMA, value)).toBe(false);
    expect(value).not.toHaveProperty('action');
    expect(value).toHaveProperty('amount');
    expect(s.counters().byOutcome).toEqual({ 'schema-break': 1 });
  });

  it('schema-break and malformed damage tool-call arguments', async () => {
    const s = await sim({ scripts: [{ reply: { toolCalls: [{ name: 'pay', arguments: { to: 'bob', cents: 100 } }] } }] });
    const tools = [{ type: 'function' as const, function: { name: 'pay', parameters: { type: 'object', properties: { to: { type: 'string' }, cents: { type: 'integer' } }, required: ['to', 'cents'] } } }];
    const c = client(s);
    const argsOf = async (fault: string): Promise<string> => {
      const call = (await c.chat.completions.create({ model: 'm', messages: user('pay'), tools }, forced(fault))).choices[0]!.message.tool_calls![0]!;
      if (call.type !== 'function') throw new Error('expected a function call');
      return call.function.arguments;
    };
    expect(JSON.parse(await argsOf('schema-break'))).toEqual({ cents: 100 });
    const truncated = await argsOf('malformed-truncated');
    expect(() => JSON.parse(truncated) as unknown).toThrow();
  });

  it('perModel down makes every call to that model a 503', async () => {
    const s = await sim({ models: ['sim-small', 'sim-large'], faults: { perModel: { 'sim-large': { down: true } } } });
    const c = client(s);
    for (let i = 0; i < 3; i++) {
      const err = await errorOf(c.chat.completions.create({ model: 'sim-large', messages: user('hi') }));
      expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
    }
    await c.chat.completions.create({ model: 'sim-small', messages: user('hi') });
    expect(s.counters().byModel).toEqual({ 'sim-large': 3, 'sim-small': 1 });
    expect(s.counters().byOutcome).toEqual({ '503': 3, ok: 1 });
  });

  it('script replies can fail the first attempts of each key, then succeed', async () => {
    const s = await sim({
      scripts: [{ match: { key: 'run-1:' }, replies: [{ fault: '500' }, { fault: '429' }, { content: 'finally' }] }],
    });
    const c = client(s);
    const call = (key: string, attempt: number): Promise<unknown> =>
      c.chat.completions.create({ model: 'm', messages: user('go') }, { headers: { 'Idempotency-Key': key, 'X-Pw-Call-Attempt': String(attempt) } });
    for (const key of ['run-1:a', 'run-1:b']) {
      expect(await errorOf(call(key, 1))).toBeInstanceOf(OpenAI.InternalServerError);
      expect(await errorOf(call(key, 2))).toBeInstanceOf(OpenAI.RateLimitError);
      expect(await call(key, 3)).toMatchObject({ choices: [{ message: { content: 'finally' } }] });
    }
    // Not matching the key prefix: the generic answer, no faults.
    expect(await call('run-2:a', 1)).toMatchObject({ choices: [{ message: { content: 'Simulated answer to: go' } }] });
    expect(s.counters().byKey['run-1:a']).toMatchObject({ calls: 3, attempts: [1, 2, 3] });
  });

  it('X-Sim-Latency-Ms delays the answer; a bad value is a 400', async () => {
    const s = await sim();
    const c = client(s);
    const started = Date.now();
    await c.chat.completions.create({ model: 'm', messages: user('slow') }, { headers: { 'X-Sim-Latency-Ms': '150' } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    const err = await errorOf(c.chat.completions.create({ model: 'm', messages: user('x') }, { headers: { 'X-Sim-Latency-Ms': 'soon' } }));
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    const bad = await errorOf(c.chat.completions.create({ model: 'm', messages: user('x') }, forced('explode')));
    expect(bad).toBeInstanceOf(OpenAI.BadRequestError);
  });

  it('configured latency applies (fixed + uniform range)', async () => {
    const s = await sim({ latency: { fixedMs: 50, minMs: 10, maxMs: 20 } });
    const started = Date.now();
    await client(s).chat.completions.create({ model: 'm', messages: user('x') });
    expect(Date.now() - started).toBeGreaterThanOrEqual(55);
  });

  it('honours fault rates over 1000 seeded calls, reproducibly', async () => {
    const faults = { rate429: 0.1, rate500: 0.05, rate503: 0.05, rateDrop: 0.02, rateMalformed: 0.05, rateSchemaBreak: 0.05 };
    const s = await sim({ seed: 42, faults });
    const c = client(s);
    const run = async (n: number): Promise<Record<string, number>> => {
      s.setConfig({ seed: 42, faults }); // restarts the seeded sequence
      s.resetCounters();
      for (let i = 0; i < n; i++) {
        await c.chat.completions.create({ model: 'm', messages: user(`q${i}`), response_format: jsonSchemaFormat }).catch(() => undefined);
      }
      return s.counters().byOutcome;
    };
    const counts = await run(1000);
    // Seed 42 gives exactly these counts (sequential calls, one draw each).
    expect(counts).toEqual({ '429': 101, '500': 35, '503': 48, drop: 19, malformed: 47, 'schema-break': 50, ok: 700 });
    const expected: Record<string, number> = { '429': 100, '500': 50, '503': 50, drop: 20, malformed: 50, 'schema-break': 50, ok: 680 };
    for (const [outcome, n] of Object.entries(expected)) {
      // Binomial standard deviation for 1000 draws is at most ~16; allow about 4 of them.
      expect(Math.abs((counts[outcome] ?? 0) - n), `${outcome}: ${counts[outcome]}`).toBeLessThanOrEqual(Math.max(15, n * 0.4));
    }
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(1000);
    // Same seed, same sequence: the first 200 calls fault exactly the same way twice.
    const first = await run(200);
    expect(await run(200)).toEqual(first);
  }, 30_000);
});
