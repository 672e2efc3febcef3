import { spawnSync } from 'node:child_process';
import { REPO_ROOT, SIM_PRICES } from '@pipewright/cli';
import { freePort, httpGet, requireBinary, startNatsServer, startProcess, waitFor, type NatsServerHandle, type ProcessHandle } from '@pipewright/devstack';
import { afterEach, describe, expect, it } from 'vitest';

/** How long a service may take to become ready once JetStream is there: one capped retry delay (5 s) and slack for a loaded machine. */
const READY_AFTER_RECOVERY_MS = 30_000;
const RETRY_LINE = /failed with a transient error; retrying/;

/**
 * Start-up against a broker that is not ready: the service (budget, the lightest set-up) keeps
 * retrying with /readyz at 503, never exits, and is ready once JetStream is there. A fault that
 * retrying cannot mend still stops it with a message that names the step.
 */
describe('service start-up', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const stop of cleanup.splice(0).reverse()) await stop();
  });

  /** nats-server without JetStream (no `-js`) on `port`. */
  async function startNatsWithoutJetStream(port: number): Promise<ProcessHandle> {
    const monitorPort = await freePort();
    const proc = await startProcess({
      name: 'nats-server (no JetStream)',
      command: requireBinary('nats-server'),
      args: ['-a', '127.0.0.1', '-p', String(port), '-m', String(monitorPort)],
      readyUrl: `http://127.0.0.1:${monitorPort}/healthz`,
    });
    cleanup.push(() => proc.stop());
    return proc;
  }

  async function startBudget(natsPort: number, env: Record<string, string> = {}, readyPattern = RETRY_LINE) {
    const opsPort = await freePort();
    const proc = await startProcess({
      name: 'budget',
      command: process.execPath,
      args: [`${REPO_ROOT}services/budget/dist/main.js`],
      inheritEnv: false,
      env: {
        PATH: process.env['PATH'] ?? '',
        NATS_URL: `nats://127.0.0.1:${natsPort}`,
        PW_HTTP_PORT: String(opsPort),
        PW_HTTP_HOST: '127.0.0.1',
        PW_LOG_LEVEL: 'info',
        PW_BUDGET_CONFIG_JSON: JSON.stringify({ prices: SIM_PRICES }),
        ...env,
      },
      readyPattern,
      readyTimeoutMs: 30_000,
    });
    cleanup.push(() => proc.stop(5_000));
    let exitCode: number | null | undefined;
    void proc.exited.then((code) => (exitCode = code));
    const readyz = async () => (await httpGet(`http://127.0.0.1:${opsPort}/readyz`)).status;
    return { proc, readyz, exited: () => exitCode !== undefined };
  }

  async function startJetStream(port: number): Promise<NatsServerHandle> {
    const nats = await startNatsServer({ port });
    cleanup.push(() => nats.stop());
    return nats;
  }

  it('retries while JetStream is disabled and becomes ready once it is enabled', async () => {
    const port = await freePort();
    const plain = await startNatsWithoutJetStream(port);
    const budget = await startBudget(port);
    expect(await budget.readyz()).toBe(503);
    await budget.proc.waitForOutput(/"retry":2\b/, 30_000);

    // the same port, now with JetStream: the service's connection comes back and the next retry passes
    await plain.stop();
    await startJetStream(port);
    await waitFor('budget /readyz 200', async () => ((await budget.readyz()) === 200 ? true : undefined), { timeoutMs: READY_AFTER_RECOVERY_MS });
    expect(budget.exited()).toBe(false);
    const retries = budget.proc.output().split('\n').filter((l) => RETRY_LINE.test(l));
    expect(retries.length).toBeGreaterThanOrEqual(2);
    expect(retries[0]).toContain('"step":"JetStream API"');
    // /readyz can answer 200 a moment before the log line has come through the pipe
    await budget.proc.waitForOutput(/"msg":"ready"/, 30_000);
  });

  it('waits for a server that is not listening yet, saying so', async () => {
    const port = await freePort();
    const budget = await startBudget(port, {}, /NATS not reachable yet/);
    expect(await budget.readyz()).toBe(503);
    await startJetStream(port);
    await waitFor('budget /readyz 200', async () => ((await budget.readyz()) === 200 ? true : undefined), { timeoutMs: READY_AFTER_RECOVERY_MS });
    expect(budget.exited()).toBe(false);
  });

  it('exits with a message naming the step when the server refuses the stream config', async () => {
    const nats = await startJetStream(await freePort());
    // replicas > 1 on a single server: JetStream API error 10074, the same on every attempt
    const r = spawnSync(process.execPath, [`${REPO_ROOT}services/budget/dist/main.js`], {
      env: { PATH: process.env['PATH'] ?? '', NATS_URL: nats.url, PW_REPLICAS: '3', PW_BUDGET_CONFIG_JSON: JSON.stringify({ prices: SIM_PRICES }) },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status).toBe(1);
    const fatal = r.stdout.split('\n').find((l) => l.includes('"level":"fatal"')) ?? '';
    expect(fatal).toContain('start-up failed at \\"streams\\"');
    expect(fatal).toContain('JetStream API error 10074');
    expect(r.stdout).not.toMatch(RETRY_LINE);
  });
});
