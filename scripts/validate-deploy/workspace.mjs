// A temporary copy of deploy/ that renders without a user's generated files: where the gitignored
// outputs of `pipewright nats-auth` and the approver token file are missing, placeholders stand in
// (syntactically what the generator writes, never usable keys). Variants a user makes by uncommenting
// lines (the gpu pool component) are written beside the real overlays, so relative paths still hold.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './tools.mjs';

const ROLES = ['planner', 'executor', 'budget', 'approver', 'console', 'tools', 'client', 'admin'];
/** Folders that `pipewright nats-auth --out` fills, and the approver token files, per deployment. */
const NATS_AUTH_DIRS = ['k8s/overlays/local/nats-auth', 'compose/nats-auth'];
const TOKEN_FILES = ['k8s/overlays/local/approver-tokens', 'compose/approver-tokens'];
const PLACEHOLDER_PUBLIC_KEY = `U${'A'.repeat(55)}`;

function fillNatsAuth(dir) {
  mkdirSync(dir, { recursive: true });
  for (const role of ROLES) {
    const seed = join(dir, `${role}.nk`);
    if (!existsSync(seed)) writeFileSync(seed, `SU${'A'.repeat(56)}\n`);
  }
  const auth = join(dir, 'auth.conf');
  if (!existsSync(auth)) writeFileSync(auth, `authorization {\n  users = [\n    { nkey: "${PLACEHOLDER_PUBLIC_KEY}" }\n  ]\n}\n`);
  const env = join(dir, 'public-keys.env');
  if (!existsSync(env)) writeFileSync(env, `PW_APPROVER_PUBLIC_KEYS=${PLACEHOLDER_PUBLIC_KEY}\n# approver: ${PLACEHOLDER_PUBLIC_KEY}\n`);
}

/** Uncomments `# components:` / `#   - ../../components/<name>` in a kustomization text. */
export function enableComponent(text, name) {
  const enabled = text.replace(new RegExp(`^# components:\\n# {3}- (\\.\\./\\.\\./components/${name})$`, 'm'), 'components:\n  - $1');
  if (enabled === text) throw new Error(`no commented "components: - ../../components/${name}" lines to enable`);
  return enabled;
}

/**
 * Copies `deployDir` (default: the repository's deploy/) into a temporary folder with placeholders
 * where generated files are missing. Returns the copy's paths and a `remove()`.
 */
export function deployWorkspace(deployDir = join(ROOT, 'deploy')) {
  const root = mkdtempSync(join(tmpdir(), 'pw-deploy-'));
  const deploy = join(root, 'deploy');
  cpSync(deployDir, deploy, { recursive: true });
  for (const d of NATS_AUTH_DIRS) fillNatsAuth(join(deploy, d));
  for (const f of TOKEN_FILES) if (!existsSync(join(deploy, f))) writeFileSync(join(deploy, f), 'admin:placeholder-token-for-rendering\n');
  const overlays = join(deploy, 'k8s/overlays');
  for (const overlay of ['local', 'production']) {
    const variant = join(overlays, `${overlay}+gpu`);
    cpSync(join(overlays, overlay), variant, { recursive: true });
    const file = join(variant, 'kustomization.yaml');
    writeFileSync(file, enableComponent(readFileSync(file, 'utf8'), 'executor-pool-gpu'));
  }
  return {
    deploy,
    /** Overlay directories to render: the two real ones and each with the gpu pool enabled. */
    overlays: ['local', 'production', 'local+gpu', 'production+gpu'].map((name) => ({ name, dir: join(overlays, name) })),
    compose: join(deploy, 'compose/docker-compose.yml'),
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}
