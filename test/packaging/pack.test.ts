import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { LocalStack, REPO_ROOT } from '@pipewright/cli';
import { afterAll, describe, expect, it } from 'vitest';
import { APP_SIM, APP_TS, APP_TSCONFIG } from './app-source.js';

const run = promisify(execFile);
const PACKAGES = ['contracts', 'kit', 'tools', 'sdk'] as const;
/** npm and pnpm from PATH (scripts/ensure-node.sh puts Node 24's first). */
const NPM = 'npm';
/** The environment of npm and pnpm here: none of the npm_* / pnpm variables of the runner that started the test. */
const cleanEnv = (extra: Record<string, string> = {}) => ({
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(npm_|pnpm_|PNPM_|NODE_OPTIONS$|NODE_PATH$)/i.test(k))),
  ...extra,
});
const manifest = (p: string) => JSON.parse(readFileSync(`${REPO_ROOT}packages/${p}/package.json`, 'utf8')) as Record<string, unknown> & { name: string; version: string; dependencies?: Record<string, string> };

/**
 * The packages others install (@pipewright/contracts, kit, tools, sdk): what `npm pack` would publish,
 * manifests fit to publish, and the proof that they work outside the workspace — tarballs packed with
 * pnpm (which rewrites `workspace:*`), installed with npm into a project in the system's temp folder
 * (third-party dependencies from the npm registry), a tool and an SDK pipeline built there with tsc
 * against the installed type declarations, and run against a local stack.
 */
describe('publishable packages', () => {
  const work = mkdtempSync(join(tmpdir(), 'pw-pack-'));
  let stack: LocalStack | undefined;
  afterAll(async () => {
    await stack?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('publish only their build, type declarations, README and manifest (npm pack --dry-run)', async () => {
    for (const p of PACKAGES) {
      const { stdout } = await run(NPM, ['pack', '--dry-run', '--json'], { cwd: `${REPO_ROOT}packages/${p}`, env: cleanEnv() });
      const [report] = JSON.parse(stdout) as { name: string; files: { path: string }[] }[];
      const files = report!.files.map((f) => f.path);
      expect(report!.name).toBe(`@pipewright/${p}`);
      expect(files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'dist/index.js', 'dist/index.d.ts']));
      const stray = files.filter((f) => !(f === 'package.json' || f === 'README.md' || f.startsWith('dist/') || (p === 'contracts' && /^schemas\/[a-z-]+\.json$/.test(f))));
      expect(stray, `${p}: files outside dist`).toEqual([]);
      const leaks = files.filter((f) => /(^|\/)(src|test)\//.test(f) || f.endsWith('.tsbuildinfo') || (f.endsWith('.ts') && !f.endsWith('.d.ts')) || /\.test\./.test(f));
      expect(leaks, `${p}: sources, tests or build info`).toEqual([]);
      // every module has its declarations
      const js = files.filter((f) => f.endsWith('.js'));
      expect(js.filter((f) => !files.includes(f.replace(/\.js$/, '.d.ts')))).toEqual([]);
    }
  });

  it('have manifests fit to publish, one version for all', () => {
    const all = PACKAGES.map(manifest);
    const version = all[0]!.version;
    expect(version).toMatch(/^\d+\.\d+\.\d+$/);
    for (const m of all) {
      expect(m).not.toHaveProperty('private');
      expect(m.version).toBe(version);
      expect(m).toMatchObject({ type: 'module', license: expect.any(String), engines: { node: expect.any(String) }, repository: { url: expect.any(String), directory: `packages/${m.name.split('/')[1]}` } });
      expect(m['exports']).toMatchObject({ '.': { types: './dist/index.d.ts', default: './dist/index.js' } });
      // what they need at run time is published too, in step
      for (const [dep, range] of Object.entries(m.dependencies ?? {})) if (dep.startsWith('@pipewright/')) {
        expect(PACKAGES.map((p) => `@pipewright/${p}`), `${m.name} depends on ${dep}, which is not published`).toContain(dep);
        expect(range).toBe('workspace:*');
      }
    }
  });

  it('install outside the workspace from their tarballs, and a tool and an SDK pipeline built there run on a local stack', { timeout: 300_000 }, async () => {
    const timings: Record<string, number> = {};
    const timed = async <T>(name: string, f: () => Promise<T>): Promise<T> => {
      const t0 = Date.now();
      try {
        return await f();
      } finally {
        timings[name] = Date.now() - t0;
      }
    };
    const started = Date.now();
    const tarballs = join(work, 'tarballs');
    const app = join(work, 'app');
    mkdirSync(join(app, 'src'), { recursive: true });
    // the stack starts while the packages are packed and installed
    const stackUp = timed('stack start', () => LocalStack.start({ services: ['planner', 'executor', 'budget', 'console'], sim: APP_SIM }));
    stackUp.catch(() => undefined);

    await timed('pnpm pack', () => Promise.all(PACKAGES.map((p) => run('pnpm', ['pack', '--pack-destination', tarballs], { cwd: `${REPO_ROOT}packages/${p}`, env: cleanEnv() }))));
    const version = manifest('sdk').version;
    const tgz = (p: string) => join(tarballs, `pipewright-${p}-${version}.tgz`);
    for (const p of PACKAGES) {
      const { stdout } = await run('tar', ['-xOf', tgz(p), 'package/package.json']);
      const packed = JSON.parse(stdout) as { dependencies?: Record<string, string> };
      expect(JSON.stringify(packed), `${p}: workspace: ranges left in the tarball`).not.toContain('workspace:');
      for (const [dep, range] of Object.entries(packed.dependencies ?? {})) if (dep.startsWith('@pipewright/')) expect(range).toBe(version);
    }

    const sdkDeps = manifest('sdk').dependencies ?? {};
    writeFileSync(join(app, 'package.json'), JSON.stringify({
      name: 'pw-packed-app',
      private: true,
      type: 'module',
      dependencies: {
        ...Object.fromEntries(PACKAGES.map((p) => [`@pipewright/${p}`, `file:${tgz(p)}`])),
        '@nats-io/transport-node': manifest('tools').dependencies!['@nats-io/transport-node']!,
        zod: sdkDeps['zod']!,
      },
    }, null, 2));
    writeFileSync(join(app, 'src', 'app.ts'), APP_TS);
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({ ...APP_TSCONFIG, compilerOptions: { ...APP_TSCONFIG.compilerOptions, typeRoots: [`${REPO_ROOT}node_modules/@types`] } }, null, 2));
    await timed('npm install', () => run(NPM, ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], { cwd: app, env: cleanEnv(), maxBuffer: 16 * 1024 * 1024 }));
    // the installed copies are the tarballs' (not links into the workspace)
    const installed = JSON.parse(readFileSync(join(app, 'node_modules/@pipewright/sdk/package.json'), 'utf8')) as { version: string; dependencies: Record<string, string> };
    expect(installed.dependencies['@pipewright/contracts']).toBe(version);

    // built with the workspace's TypeScript against the installed declarations (skipLibCheck off: they must compile)
    await timed('tsc', () => run(process.execPath, [`${REPO_ROOT}node_modules/typescript/bin/tsc`, '-p', app], { cwd: app, env: cleanEnv() }).catch((err: Error & { stdout?: string }) => {
      throw new Error(`the app does not compile against the installed packages:\n${err.stdout ?? err.message}`);
    }));

    stack = await stackUp;
    const env = { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...stack.clientEnv('tools'), PW_CONSOLE_URL: stack.consoleUrl!, PW_CONSOLE_TOKEN: stack.consoleToken! };
    const { stdout } = await timed('app run', () => run(process.execPath, ['dist/app.js'], { cwd: app, env, timeout: 120_000 }));
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as { runId: string; note: string; out: unknown; calls: unknown[]; yamlLines: number; steps: { id: string; status: string; output: unknown }[] };
    expect(result.calls).toEqual([{ sku: 'mug-1' }]); // the model's call reached the tool served from the installed package
    expect(result.steps).toEqual([
      { id: 'price', status: 'succeeded', output: { cents: 1234 } },
      { id: 'note', status: 'succeeded', output: { note: expect.any(String) } },
    ]);
    expect(result.out).toEqual({ note: result.note });
    expect(result.yamlLines).toBeGreaterThan(10);

    timings['total'] = Date.now() - started;
    console.log(`[packaging] ${Object.entries(timings).map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`).join(', ')}`);
  });
});
