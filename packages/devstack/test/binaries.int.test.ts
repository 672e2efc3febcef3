import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BinaryNotFoundError, binDir, findBinary, requireBinary } from '../src/index.js';

const VARS = ['PW_BIN_DIR', 'PW_NATS_SERVER', 'PW_NATS_CLI', 'PW_FERRETDB', 'PW_JAEGER', 'PATH'] as const;

/** Writes an executable shell script that prints `nats-server: <version>`. */
function fakeNatsServer(dir: string, version: string): string {
  const path = join(dir, 'nats-server');
  writeFileSync(path, `#!/bin/sh\necho "nats-server: ${version}"\n`);
  chmodSync(path, 0o755);
  return path;
}

describe('findBinary / requireBinary', () => {
  let saved: Record<string, string | undefined>;
  let scratch: string;

  beforeEach(() => {
    saved = Object.fromEntries(VARS.map((name) => [name, process.env[name]]));
    scratch = mkdtempSync(join(tmpdir(), 'pw-devstack-bin-'));
    for (const name of VARS) delete process.env[name];
  });
  afterEach(() => {
    for (const name of VARS) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
    rmSync(scratch, { recursive: true, force: true });
  });

  it('uses PW_BIN_DIR, else ~/.cache/pipewright/bin', () => {
    expect(binDir()).toMatch(/\.cache\/pipewright\/bin$/);
    process.env.PW_BIN_DIR = scratch;
    expect(binDir()).toBe(scratch);
    process.env.PW_BIN_DIR = '  ';
    expect(binDir()).toMatch(/\.cache\/pipewright\/bin$/); // empty means unset
  });

  it('prefers the override variable, and rejects one that is not executable', () => {
    const binFolder = join(scratch, 'bin');
    process.env.PW_BIN_DIR = binFolder;
    const override = fakeNatsServer(scratch, 'v2.11.0');
    process.env.PW_NATS_SERVER = override;
    expect(findBinary('nats-server')).toBe(override);
    process.env.PW_FERRETDB = join(scratch, 'no-such-ferretdb');
    expect(() => findBinary('ferretdb')).toThrow(/PW_FERRETDB=.*no-such-ferretdb is not an executable file/);
  });

  it('accepts a nats-server on PATH only when it is 2.10 or newer', () => {
    process.env.PW_BIN_DIR = join(scratch, 'empty');
    const oldDir = mkdtempSync(join(scratch, 'old-'));
    const newDir = mkdtempSync(join(scratch, 'new-'));
    fakeNatsServer(oldDir, 'v2.9.10');
    const recent = fakeNatsServer(newDir, 'v2.10.3');
    process.env.PATH = oldDir;
    expect(findBinary('nats-server')).toBeUndefined();
    process.env.PATH = [oldDir, newDir].join(':');
    expect(findBinary('nats-server')).toBe(recent);
    // PATH is only searched for nats-server.
    process.env.PATH = '/usr/bin';
    expect(findBinary('nats')).toBeUndefined();
  });

  it('requireBinary says to run scripts/ensure-servers.sh', () => {
    process.env.PW_BIN_DIR = scratch;
    process.env.PATH = '/usr/sbin:/usr/bin';
    expect(() => requireBinary('jaeger')).toThrow(BinaryNotFoundError);
    expect(() => requireBinary('jaeger')).toThrow(/jaeger not found \(looked in \$PW_JAEGER, .*\); run scripts\/ensure-servers\.sh jaeger/);
    // Debian's /usr/sbin/nats-server is 2.9, so it does not count.
    expect(() => requireBinary('nats-server')).toThrow(/run scripts\/ensure-servers\.sh nats-server/);
  });
});
