import { spawnSync } from 'node:child_process';
import { REPO_ROOT } from '@pipewright/cli';
import { describe, expect, it } from 'vitest';

/** A bad or missing variable stops start-up with its name and what was expected. */
describe('service configuration', () => {
  const run = (service: string, env: Record<string, string>) =>
    spawnSync(process.execPath, [`${REPO_ROOT}services/${service}/dist/main.js`], { env: { PATH: process.env['PATH'] ?? '', ...env }, encoding: 'utf8', timeout: 15_000 });

  it.each([
    ['planner', { PW_PLANNER_CONCURRENCY: 'lots' }, 'PW_PLANNER_CONCURRENCY'],
    ['executor', { PW_EXECUTOR_POOL: 'Bad Pool!' }, 'PW_EXECUTOR_POOL'],
    ['executor', { PW_PROVIDERS: '{"x":{"baseURL":"not a url"}}' }, 'PW_PROVIDERS'],
    ['planner', { PW_LOG_LEVEL: 'loud' }, 'PW_LOG_LEVEL'],
  ])('%s refuses to start with %j', (service, env, name) => {
    const r = run(service, { NATS_URL: 'nats://127.0.0.1:1', ...env });
    expect(r.status).toBe(78);
    expect(r.stderr).toContain(name);
    expect(r.stderr).not.toContain('    at '); // a message, not a stack trace
  });
});
