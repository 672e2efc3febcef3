// A temporary copy of deploy/ that renders without a user's generated files: where the gitignored
// outputs of `pipewright nats-auth`, the approver's and the console's token files and the console's
// session secret are missing, placeholders stand in (syntactically what the user writes, never usable
// keys). Variants a user makes by uncommenting lines (every optional component: the gpu pool, the
// console's Ingress and webhooks) are written beside the real overlays, so relative paths still hold.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './tools.mjs';

const ROLES = ['planner', 'executor', 'budget', 'approver', 'console', 'tools', 'client', 'admin'];
/** Folders that `pipewright nats-auth --out` fills, per deployment. */
const NATS_AUTH_DIRS = ['k8s/overlays/local/nats-auth', 'compose/nats-auth'];
const PLACEHOLDER_SESSION_SECRET = 'placeholder-session-secret-of-at-least-32-characters';
/** The other files a user generates (deploy/README.md), with a stand-in of the shape each must have. */
const GENERATED_FILES = {
  'k8s/overlays/local/approver-tokens': 'admin:placeholder-token-for-rendering\n',
  'k8s/overlays/local/console-tokens': 'admin:operate:placeholder-token-for-rendering\n',
  'k8s/overlays/local/console-session-secret': PLACEHOLDER_SESSION_SECRET,
  'compose/approver-tokens': 'admin:placeholder-token-for-rendering\n',
  'compose/console-tokens': 'admin:operate:placeholder-token-for-rendering\n',
  'compose/console.env': `PW_CONSOLE_SESSION_SECRET=${PLACEHOLDER_SESSION_SECRET}\n`,
};
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

/**
 * Uncomments the `# components:` block of a kustomization text: the line and every `#   - ../../components/<name>`
 * line right after it. Returns the text and the names of the components it enabled.
 */
export function enableComponents(text) {
  let names = [];
  const enabled = text.replace(/^# components:\n((?:# {3}- \.\.\/\.\.\/components\/[\w-]+\n)+)/m, (_, lines) => {
    names = [...lines.matchAll(/components\/([\w-]+)/g)].map((m) => m[1]);
    return `components:\n${lines.replace(/^# {3}/gm, '  ')}`;
  });
  if (names.length === 0) throw new Error('no commented "# components:" block with "#   - ../../components/<name>" lines to enable');
  return { text: enabled, names };
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
  for (const [f, text] of Object.entries(GENERATED_FILES)) if (!existsSync(join(deploy, f))) writeFileSync(join(deploy, f), text);
  const overlays = join(deploy, 'k8s/overlays');
  const components = {};
  for (const overlay of ['local', 'production']) {
    const variant = join(overlays, `${overlay}+components`);
    cpSync(join(overlays, overlay), variant, { recursive: true });
    const file = join(variant, 'kustomization.yaml');
    const { text, names } = enableComponents(readFileSync(file, 'utf8'));
    writeFileSync(file, text);
    components[`${overlay}+components`] = names;
  }
  return {
    deploy,
    /** Overlay directories to render: the two real ones and each with every optional component enabled. */
    overlays: ['local', 'production', 'local+components', 'production+components'].map((name) => ({ name, dir: join(overlays, name), components: components[name] ?? [] })),
    compose: join(deploy, 'compose/docker-compose.yml'),
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}
