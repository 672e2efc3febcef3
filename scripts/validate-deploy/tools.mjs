// The two external programs the deploy check needs, found or built once into $PW_BIN_DIR:
//   - kustomize v5: `kubectl kustomize` when kubectl embeds kustomize v5, else a `kustomize` binary in
//     the binaries folder, else `go install sigs.k8s.io/kustomize/kustomize/v5@KUSTOMIZE_VERSION`
//     (Debian's kubectl 1.20 embeds kustomize v2, which knows neither components nor `labels`);
//   - compose-check (scripts/compose-check): the Compose specification's loader, built with `go build`.
import process from 'node:process';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN_DIR = process.env.PW_BIN_DIR || join(homedir(), '.cache/pipewright/bin');
const KUSTOMIZE_VERSION = 'v5.5.0';
const COMPOSE_CHECK_SRC = join(ROOT, 'scripts/compose-check');
/** Go builds are slow on a loaded 2-core machine; the first one downloads modules too. */
const GO_BUILD_TIMEOUT_MS = 20 * 60_000;

const log = (msg) => process.stderr.write(`validate-deploy: ${msg}\n`);

function run(cmd, args, opts = {}) {
  return spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 120_000, ...opts });
}

/** The command that renders a kustomization: [program, ...args before DIR]. */
export function kustomizeCommand() {
  const kubectl = run('kubectl', ['version', '--client'], { timeout: 20_000 });
  const embedded = /Kustomize Version: v(\d+)\./.exec(kubectl.stdout ?? '');
  if (kubectl.status === 0 && embedded && Number(embedded[1]) >= 5) return ['kubectl', 'kustomize'];
  const bin = join(BIN_DIR, 'kustomize');
  if (!existsSync(bin)) {
    log(`kubectl with kustomize v5 not found; installing kustomize ${KUSTOMIZE_VERSION} into ${BIN_DIR}`);
    mkdirSync(BIN_DIR, { recursive: true });
    const r = run('go', ['install', `sigs.k8s.io/kustomize/kustomize/v5@${KUSTOMIZE_VERSION}`], {
      env: { ...process.env, GOBIN: BIN_DIR },
      stdio: ['ignore', 'inherit', 'inherit'],
      timeout: GO_BUILD_TIMEOUT_MS,
    });
    if (r.status !== 0) throw new Error(`go install kustomize failed (${r.error ?? `exit ${r.status}`})`);
  }
  return [bin];
}

/** Renders one kustomization directory to YAML text; throws with kustomize's message. */
export function kustomizeBuild(command, dir) {
  const [prog, ...args] = command;
  const r = run(prog, [...args, dir]);
  if (r.status !== 0) throw new Error(`kustomize ${dir}: ${(r.stderr || String(r.error)).trim()}`);
  return r.stdout;
}

/** Path of the compose-check binary, built when missing or older than its sources. */
export function composeCheckBinary() {
  const bin = join(BIN_DIR, 'pw-compose-check');
  const newest = Math.max(...['main.go', 'go.mod', 'go.sum'].map((f) => statSync(join(COMPOSE_CHECK_SRC, f)).mtimeMs));
  if (existsSync(bin) && statSync(bin).mtimeMs >= newest) return bin;
  log(`building scripts/compose-check into ${bin}`);
  mkdirSync(BIN_DIR, { recursive: true });
  const r = run('go', ['build', '-o', bin, '.'], { cwd: COMPOSE_CHECK_SRC, stdio: ['ignore', 'inherit', 'inherit'], timeout: GO_BUILD_TIMEOUT_MS });
  if (r.status !== 0) throw new Error(`go build scripts/compose-check failed (${r.error ?? `exit ${r.status}`})`);
  return bin;
}

/** Loads Compose files with compose-check; returns its stderr/stdout and whether it accepted them. */
export function composeCheck(files, cwd) {
  const r = run(composeCheckBinary(), files, { cwd });
  return { ok: r.status === 0, output: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() };
}
