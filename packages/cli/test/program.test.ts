import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@pipewright/devstack';
import { beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../src/cli/exit-codes.js';
import { cli } from './support/capture.js';

const version = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
let NOWHERE: Record<string, string>;
beforeAll(async () => {
  // A port that was free a moment ago: nothing listens there.
  NOWHERE = { PW_CONSOLE_URL: `http://127.0.0.1:${await freePort()}`, PW_CONSOLE_TOKEN: 't' };
});

describe('pipewright: usage, errors and exit codes', () => {
  it('--version prints the package version and exits 0', async () => {
    expect(await cli(['--version'])).toEqual({ code: 0, out: version, err: '' });
    expect((await cli(['-V'])).out).toBe(version);
  });

  it('a bad value is a usage error naming the option (exit 2), before anything is sent', async () => {
    expect(await cli(['runs', 'list', '--limit', 'abc'])).toMatchObject({ code: EXIT.usage, out: '', err: "pipewright: error: option '--limit <n>': not a positive integer" });
    expect((await cli(['runs', 'list', '--limit', '0'])).code).toBe(2);
    expect((await cli(['runs', 'list', '--status', 'done'])).err).toContain("option '--status <status[,status]>': 'done' is not a status");
    expect((await cli(['watch', 'a.>'])).err).toBe('pipewright: error: argument \'runId\': a run id is 1-64 letters, digits, "_" or "-"');
    expect((await cli(['watch', 'r-1', '--timeout', 'soon'])).code).toBe(2);
    expect((await cli(['runs', 'resume', 'r-1', '--max-usd', '-1'])).code).toBe(2);
    expect((await cli(['runs', 'signal', 'r-1', 'not.a.name'])).err).toBe('pipewright: error: argument \'name\': a signal name is 1-64 letters, digits, "_" or "-"');
    expect((await cli(['runs', 'signal', 'r-1', 'approval', '--payload', '{ok: true}'])).err).toMatch(/^pipewright: error: --payload is not JSON/);
    expect((await cli(['runs', 'signal', 'r-1', 'approval', '--id', 'a b'])).code).toBe(2);
  });

  it('commander’s own errors are usage errors in the same style', async () => {
    const unknown = await cli(['runs', 'lst']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/^pipewright: error: unknown command 'lst'\n\(Did you mean list\?\)/);
    expect((await cli(['runs', 'list', '--bogus'])).err).toContain("pipewright: error: unknown option '--bogus'");
    expect((await cli(['runs', 'rerun', 'r-1'])).err).toContain("error: required option '--from <step>' not specified");
    expect((await cli(['runs'])).code).toBe(2); // a group without its subcommand shows its help, as an error
  });

  it('cancel takes a run id or labels, not both and not neither', async () => {
    for (const argv of [['runs', 'cancel'], ['runs', 'cancel', 'r-1', '--label', 'a=b']]) {
      expect(await cli(argv, NOWHERE)).toMatchObject({ code: 2, err: 'pipewright: error: give a run id or --label key=value, not both' });
    }
  });

  it('a console that is not configured: exit 4, saying which variables to set', async () => {
    const r = await cli(['runs', 'show', 'r-1']);
    expect(r.code).toBe(EXIT.unavailable);
    expect(r.err).toContain('pipewright: error: the console is not configured: set PW_CONSOLE_URL (or --console-url) and PW_CONSOLE_TOKEN (or --token)');
    expect(r.err).toContain('`pipewright dev` prints');
    expect((await cli(['runs', 'show', 'r-1'], { PW_CONSOLE_URL: 'http://127.0.0.1:1' })).err).toContain('set PW_CONSOLE_TOKEN (or --token)');
  });

  it('a console that cannot be reached: exit 4 naming the address and the reason', async () => {
    const r = await cli(['runs', 'list'], NOWHERE);
    expect(r.code).toBe(EXIT.unavailable);
    expect(r.err).toMatch(/^pipewright: error: cannot reach the console at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
  });

  it('flags override the variables, and a bad variable is a usage error naming it', async () => {
    const r = await cli(['runs', 'list', '--console-url', NOWHERE['PW_CONSOLE_URL']!, '--token', 'x']);
    expect(r.err).toContain(`cannot reach the console at ${NOWHERE['PW_CONSOLE_URL']}`);
    const bad = await cli(['runs', 'list'], { PW_CONSOLE_URL: 'not a url', PW_CONSOLE_TOKEN: 't' });
    expect(bad).toMatchObject({ code: 2, err: expect.stringContaining('pipewright: error: invalid configuration: PW_CONSOLE_URL:') });
    expect((await cli(['runs', 'list', '--console-url', 'ftp://x'], { PW_CONSOLE_TOKEN: 't' })).err).toContain('PW_CONSOLE_URL: expected an http:// or https:// URL');
  });

  it('with --json an error is also a JSON document on stdout', async () => {
    const r = await cli(['runs', 'show', 'r-1', '--json']);
    expect(JSON.parse(r.out)).toEqual({ error: { code: 'not_configured', message: expect.stringContaining('the console is not configured'), details: [expect.any(String)] } });
    expect(JSON.parse((await cli(['runs', 'list', '--limit', 'abc', '--json'])).out)).toEqual({ error: { code: 'usage', message: "option '--limit <n>': not a positive integer" } });
  });

  it('--help shows the connection flags with their variables, and the exit codes', async () => {
    const list = await cli(['runs', 'list', '--help']);
    expect(list.code).toBe(0);
    expect(list.out).toMatch(/Connection:\n\s+--console-url <url>.*\(env\s+PW_CONSOLE_URL/s);
    expect(list.out).toMatch(/--token <token>.*PW_CONSOLE_TOKEN/s);
    expect(list.out).toMatch(/Exit codes:\n\s+0 .*\n\s+1 .*\n\s+2 .*\n\s+3 .*\n\s+4 .*\n\s+5 /);
    const watch = (await cli(['watch', '--help'])).out;
    for (const flag of ['--nats-url <url>', '--nkey-seed-file <file>', '--creds <file>', '--timeout <ms|30s>', '--json']) expect(watch).toContain(flag);
    expect(watch).toMatch(/NATS_URL/);
    expect((await cli(['runs', 'rerun', '--help'])).out).toMatch(/--console-url[\s\S]*--nats-url/); // --watch needs both
    expect((await cli(['approvals', 'list', '--help'])).out).toContain('--approver-url <url>');
  });

  it('every command takes --json', async () => {
    const leaves = ['submit', 'watch', 'runs list', 'runs show', 'runs cancel', 'runs resume', 'runs rerun', 'runs signal', 'runs batch', 'approvals list', 'approvals show', 'approvals approve', 'approvals reject', 'approvals edit', 'budget status', 'tools list', 'nats-auth'];
    for (const leaf of leaves) expect((await cli([...leaf.split(' '), '--help'])).out, leaf).toContain('--json');
  });
});

describe('pipewright submit: the request is checked before anything connects', () => {
  it('a missing file, an invalid pipeline or input is exit 2 naming each bad field; no NATS needed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pw-submit-'));
    const nowhere = { NATS_URL: `nats://127.0.0.1:${await freePort()}` };
    expect(await cli(['submit', join(dir, 'none.yaml')], nowhere)).toMatchObject({ code: 2, err: expect.stringMatching(/^pipewright: error: cannot read pipeline file .*none\.yaml: ENOENT/) });
    const file = join(dir, 'p.yaml');
    writeFileSync(file, 'name: p\nsteps:\n  - id: a\n    prompt: "{{input.q}} and {{steps.b.output}}"\n');
    const bad = await cli(['submit', file, '--input', '{"q":"x"}'], nowhere);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/^pipewright: error: the run request is invalid\n {2}pipeline\.steps\[0\]\.model: no model/);
    expect((await cli(['submit', file, '--input', '[1]'], nowhere)).err).toBe('pipewright: error: --input must be a JSON object');
    writeFileSync(file, 'name: p\ndefaults: { model: m }\nsteps:\n  - id: a\n    prompt: "{{input.q}}"\n');
    const unreachable = await cli(['submit', file, '--input', '{"q":"x"}'], nowhere);
    expect(unreachable).toMatchObject({ code: 4, err: expect.stringContaining(`pipewright: error: cannot reach NATS at ${nowhere.NATS_URL}`) });
  });
});
