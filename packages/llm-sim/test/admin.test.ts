import { connect } from 'node:net';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { client, get, root, sim, user } from './helpers.js';

describe('admin and protocol edges', () => {
  it('counts calls by idempotency key with attempt numbers, by model and by outcome', async () => {
    const s = await sim();
    const c = client(s);
    const call = (key: string, attempt: number, fault = 'ok'): Promise<unknown> =>
      c.chat.completions
        .create({ model: 'sim-small', messages: user('hi') }, { headers: { 'Idempotency-Key': key, 'X-Pw-Call-Attempt': String(attempt), 'X-Sim-Fault': fault } })
        .catch(() => undefined);
    await call('run:step-1', 1, '503');
    await call('run:step-1', 2);
    await call('run:step-2', 1);
    await c.chat.completions.create({ model: 'sim-large', messages: user('no key') });
    expect(s.counters()).toEqual({
      totalCalls: 4,
      byKey: { 'run:step-1': expect.objectContaining({ calls: 2, attempts: [1, 2] }), 'run:step-2': expect.objectContaining({ calls: 1, attempts: [1] }) },
      byModel: { 'sim-small': 3, 'sim-large': 1 },
      byOutcome: { '503': 1, ok: 3 },
    });
    const overHttp: unknown = await (await get(`${root(s)}/_sim/counters`)).json();
    expect(overHttp).toEqual(s.counters());
  });

  it('resets counters over HTTP and through the handle', async () => {
    const s = await sim();
    await client(s).chat.completions.create({ model: 'm', messages: user('hi') });
    const res = await get(`${root(s)}/_sim/reset`, { method: 'POST' });
    expect(res.status).toBe(200);
    expect(s.counters()).toEqual({ totalCalls: 0, byKey: {}, byModel: {}, byOutcome: {} });
    await client(s).chat.completions.create({ model: 'm', messages: user('hi') });
    s.resetCounters();
    expect(s.counters().totalCalls).toBe(0);
  });

  it('replaces the config over HTTP and rejects a bad one naming the field', async () => {
    const s = await sim();
    const put = (body: string): Promise<Response> =>
      get(`${root(s)}/_sim/config`, { method: 'PUT', body, headers: { 'content-type': 'application/json' } });
    const ok = await put(JSON.stringify({ models: ['only-this'], scripts: [{ reply: { content: 'scripted' } }] }));
    expect(ok.status).toBe(200);
    const r = await client(s).chat.completions.create({ model: 'only-this', messages: user('x') });
    expect(r.choices[0]!.message.content).toBe('scripted');
    expect(await (await get(`${root(s)}/_sim/config`)).json()).toMatchObject({ models: ['only-this'] });

    const bad = await put(JSON.stringify({ faults: { rate429: 2 } }));
    expect(bad.status).toBe(400);
    const body = (await bad.json()) as { error: { message: string; param: string; code: string } };
    expect(body.error.param).toBe('faults.rate429');
    expect(body.error.message).toContain('faults.rate429');
    expect(body.error.code).toBe('invalid_config');
    const typo = (await (await put(JSON.stringify({ faults: { rate492: 0.1 } }))).json()) as { error: { param: string } };
    expect(typo.error.param).toBe('faults.rate492');
    expect((await put('{not json')).status).toBe(400);
    // The rejected configs left the previous one in place.
    expect((await client(s).chat.completions.create({ model: 'only-this', messages: user('x') })).choices[0]!.message.content).toBe('scripted');
  });

  it('setConfig on the handle validates too', async () => {
    const s = await sim();
    expect(() => s.setConfig({ faults: { rateDrop: -1 } })).toThrow(/faults\.rateDrop/);
  });

  it('answers 404 model_not_found for an unknown model when models are configured', async () => {
    const s = await sim({ models: ['sim-small'] });
    const err = await client(s)
      .chat.completions.create({ model: 'gpt-unknown', messages: user('hi') })
      .then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect((err as InstanceType<typeof OpenAI.NotFoundError>).code).toBe('model_not_found');
    expect(s.counters().byOutcome).toEqual({ '404': 1 });
  });

  it('lists models and answers health checks', async () => {
    const s = await sim({ models: ['sim-small', 'sim-large'] });
    const models = await client(s).models.list();
    expect(models.data.map((m) => m.id)).toEqual(['sim-small', 'sim-large']);
    expect((await client(s).models.retrieve('sim-large')).id).toBe('sim-large');
    expect((await get(`${root(s)}/healthz`)).status).toBe(200);
    expect((await get(`${root(s)}/nope`)).status).toBe(404);
  });

  it('rejects garbage bodies with an OpenAI-style 400 and keeps serving', async () => {
    const s = await sim();
    const url = `${s.url}/chat/completions`;
    for (const body of ['{"model":', 'null', '[]', '{"model":"m"}', '{"model":"m","messages":"hi"}', '\u0000\u00ff']) {
      const res = await get(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
      expect(res.status, body).toBe(400);
      const json = (await res.json()) as { error: { message: string; type: string; code: string } };
      expect(json.error.type).toBe('invalid_request_error');
      expect(json.error.message.length).toBeGreaterThan(0);
    }
    // Raw HTTP garbage on the socket must not take the server down either.
    await new Promise<void>((resolve, reject) => {
      const sock = connect(s.port, '127.0.0.1', () => sock.end('NOT HTTP AT ALL\r\n\r\n'));
      sock.setTimeout(2_000, () => {
        sock.destroy();
        reject(new Error('raw socket timed out'));
      });
      sock.on('error', () => resolve());
      sock.on('close', () => resolve());
      sock.resume();
    });
    const ok = await client(s).chat.completions.create({ model: 'm', messages: user('still there?') });
    expect(ok.choices[0]!.message.content).toBe('Simulated answer to: still there?');
    expect(s.counters().byOutcome).toEqual({ '400': 6, ok: 1 });
  });

  it('accepts content parts and assistant tool-call history', async () => {
    const s = await sim();
    const r = await client(s).chat.completions.create({
      model: 'm',
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: [{ type: 'text', text: 'first part ' }, { type: 'text', text: 'second part' }] },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: 'result' },
      ],
    });
    expect(r.choices[0]!.message.content).toBe('Simulated answer to: first part second part');
  });
});
