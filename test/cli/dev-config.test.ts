import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimProcess, submitRun, SIM_PRICES, type SimProcess } from '@pipewright/cli';
import { nanoToUsd, usageCost } from '@pipewright/contracts';
import { waitFor } from '@pipewright/devstack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventLog } from '../resilience/support.js';
import { client } from '../support/run.js';
import { DevProcess } from '../support/dev-process.js';

/** The user's budget configuration: a price of their own for sim-large, and a pipeline limit. */
const USER_SIM_LARGE = { input: 100, output: 400 };
const BUDGET_YAML = `prices:
  sim-large: { input: ${USER_SIM_LARGE.input}, output: ${USER_SIM_LARGE.output} }
pipelines:
  capped: { maxUsd: 0.000001 }
`;

/**
 * `pipewright dev` takes the documented variables from the user's shell (docs/configuration.md) and
 * merges them with what the local stack needs: PW_BUDGET_CONFIG's limits and prices are enforced while
 * the simulator's prices stay for the models it does not price; a PW_PROVIDERS entry is a provider a
 * step can name, next to the simulator; PW_SIM_CONFIG is the simulator's configuration. A variable the
 * stack owns (NATS_URL) is not passed on.
 */
describe('pipewright dev honours the user’s environment', () => {
  let dir: string;
  let second: SimProcess;
  let dev: DevProcess;
  let events: EventLog;
  let c: Awaited<ReturnType<typeof client>>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pw-dev-config-'));
    writeFileSync(join(dir, 'budget.yaml'), BUDGET_YAML);
    writeFileSync(join(dir, 'sim.yaml'), 'scripts:\n  - match: { contains: "Say hello" }\n    reply: { content: "hello from PW_SIM_CONFIG" }\n');
    writeFileSync(join(dir, 'second.yaml'), 'scripts:\n  - reply: { content: "answered by the second simulator" }\n');
    second = await startSimProcess({ configFile: join(dir, 'second.yaml') });
    dev = await DevProcess.start({
      PW_BUDGET_CONFIG: join(dir, 'budget.yaml'),
      PW_PROVIDERS: JSON.stringify({ second: { baseURL: second.client.openaiBaseUrl, apiKeyEnv: 'SECOND_KEY' } }),
      SECOND_KEY: 'sk-second',
      PW_SIM_CONFIG: join(dir, 'sim.yaml'),
      NATS_URL: 'nats://127.0.0.1:1', // a stray value from the user's shell: the stack runs its own server
    });
    events = await EventLog.start(dev.adminOptions());
    c = await client(dev.adminOptions());
  });
  afterAll(async () => {
    await c?.close();
    await events?.close();
    await dev?.stop();
    await second?.proc.stop(5_000);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const run = async (pipeline: Record<string, unknown>) => {
    const runId = await submitRun(c.js, pipeline, {});
    return waitFor(`run ${runId} to finish`, () => events.finished(runId), { timeoutMs: 60_000 });
  };

  it('starts the simulator with PW_SIM_CONFIG, and keeps its price for models the user does not price', async () => {
    expect(dev.banner.simConfig).toBe(join(dir, 'sim.yaml'));
    const end = await run({ name: 'scripted', defaults: { model: 'sim-small' }, steps: [{ id: 'greet', prompt: 'Say hello' }] });
    expect(end).toMatchObject({ status: 'succeeded', output: 'hello from PW_SIM_CONFIG' });
    expect(end.costUsd).toBeGreaterThan(0);
    expect(end.costUsd).toBe(nanoToUsd(usageCost(SIM_PRICES['sim-small'], end.usage).nano));
  });

  it('prices a model with the user’s PW_BUDGET_CONFIG where it has a price', async () => {
    const end = await run({ name: 'priced', defaults: { model: 'sim-large' }, steps: [{ id: 'greet', prompt: 'Say hello' }] });
    expect(end.status).toBe('succeeded');
    expect(end.costUsd).toBe(nanoToUsd(usageCost(USER_SIM_LARGE, end.usage).nano));
  });

  it('enforces the pipeline limit of PW_BUDGET_CONFIG: the run is denied', async () => {
    const end = await run({ name: 'capped', defaults: { model: 'sim-small' }, steps: [{ id: 'greet', prompt: 'Say hello' }] });
    expect(end).toMatchObject({ status: 'budget_exhausted', reason: expect.stringMatching(/pipeline/) });
    expect(end.usage.totalTokens).toBe(0);
  });

  it('calls a PW_PROVIDERS provider that a step names', async () => {
    const before = (await second.client.counters()).totalCalls;
    const end = await run({ name: 'elsewhere', steps: [{ id: 'greet', model: { provider: 'second', model: 'sim-small' }, prompt: 'Say hello' }] });
    expect(end).toMatchObject({ status: 'succeeded', output: 'answered by the second simulator' });
    expect((await second.client.counters()).totalCalls).toBe(before + 1);
    // and the simulator of the stack is still a provider, by the name `sim`
    const sim = await run({ name: 'by-name', steps: [{ id: 'greet', model: { provider: 'sim', model: 'sim-small' }, prompt: 'Say hello' }] });
    expect(sim).toMatchObject({ status: 'succeeded', output: 'hello from PW_SIM_CONFIG' });
  });
});
