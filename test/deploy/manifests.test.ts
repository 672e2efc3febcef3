import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { deployWorkspace, findKustomize, render, type OverlayName } from './support/render.js';

/**
 * Keeps deploy/, the Dockerfile and the code honest with each other: every manifest parses, every
 * workload has probes, limits and a locked-down security context, every environment variable the
 * manifests set is one the code reads (and its value passes the service's own config parser), every
 * path they name exists, and — when kubectl is installed — both kustomize overlays render.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DEPLOY = join(ROOT, 'deploy');
const K8S = join(DEPLOY, 'k8s');
const COMPOSE_FILE = join(DEPLOY, 'compose', 'docker-compose.yml');
const OVERLAYS = ['local', 'production'] as const;
const OPS_PORT = 9464;

/**
 * Variables the deploy files set ahead of the code that will read them. Each is logged while the code
 * does not read it yet; remove it here once it does.
 */
const PENDING_IN_CODE: Readonly<Record<string, string>> = {};

/**
 * Services the deploy files start before their config.ts exists (it is being written on another branch).
 * Each is logged while it has none; once services/<name>/src/config.ts exists, its loader must accept
 * the deploy files' values like every other service's. Remove the entry then.
 */
const PENDING_SERVICES: Readonly<Record<string, string>> = {};

type Loader = (env: Record<string, string | undefined>) => unknown;
/** Each service's own config parser (services/<name>/src/config.ts `loadConfig`): the manifests' values must pass it. */
const LOADERS: Readonly<Record<string, Loader>> = Object.fromEntries(
  await Promise.all(
    readdirSync(join(ROOT, 'services'))
      .filter((s) => existsSync(join(ROOT, 'services', s, 'src', 'config.ts')))
      .map(async (s) => [s, ((await import(join(ROOT, 'services', s, 'src', 'config.ts'))) as { loadConfig: Loader }).loadConfig] as const),
  ),
);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const obj = (v: unknown): Obj => (isObj(v) ? v : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? (v as unknown[]) : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function walkFiles(dir: string, accept: (name: string) => boolean): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walkFiles(p, accept));
    else if (accept(name)) out.push(p);
  }
  return out.sort();
}

/** Parses every document of a YAML text; throws with the file name on any syntax error. */
function parseDocs(text: string, label: string): unknown[] {
  return parseAllDocuments(text, { merge: true }).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${label}: ${doc.errors.map((e) => e.message).join('; ')}`);
    return doc.toJS() as unknown;
  });
}

const yamlFiles = walkFiles(DEPLOY, (n) => n.endsWith('.yaml') || n.endsWith('.yml'));
const k8sDocs = yamlFiles
  .filter((f) => f.startsWith(K8S))
  .flatMap((file) => parseDocs(readFileSync(file, 'utf8'), relative(ROOT, file)).map((doc) => ({ file: relative(ROOT, file), doc })));
const kustomizations = k8sDocs.filter(({ file }) => file.endsWith('kustomization.yaml'));

/** Names of the environment variables the code reads, taken from the config sources themselves. */
function envNamesReadByCode(): Set<string> {
  const sources = [
    join(ROOT, 'packages/kit/src/config.ts'),
    join(ROOT, 'packages/llm-sim/src/config.ts'),
    ...readdirSync(join(ROOT, 'services')).map((s) => join(ROOT, 'services', s, 'src', 'config.ts')),
  ].filter((f) => existsSync(f));
  const names = new Set<string>();
  for (const file of sources) {
    const text = readFileSync(file, 'utf8');
    // zod object keys (`NATS_URL: z.string()…`) and direct reads (`env['PW_SIM_PORT']`, `process.env.X`).
    for (const re of [/^\s*([A-Z][A-Z0-9_]*[A-Z0-9])\s*:/gm, /env\[['"]([A-Z][A-Z0-9_]*)['"]\]/g, /process\.env\.([A-Z][A-Z0-9_]*)/g])
      for (const m of text.matchAll(re)) names.add(m[1]!);
  }
  return names;
}
const READ_BY_CODE = envNamesReadByCode();

/** A container is Pipewright's unless its image is someone else's (nats, jaeger); patches have none. */
const isPipewrightImage = (image: unknown) => image === undefined || /(^|\/)pipewright(:|@|$)/.test(str(image) ?? '');

/** `services/x/dist/main.js` → `services/x/src/main.ts`: the source that the image compiles. */
function sourceOf(distPath: string): string | undefined {
  const m = /^((?:packages|services)\/[^/]+)\/dist\/(.+)\.js$/.exec(distPath);
  return m ? join(ROOT, m[1]!, 'src', `${m[2]!}.ts`) : undefined;
}
const serviceOf = (command: unknown[]): string | undefined =>
  command.map((c) => /^services\/([^/]+)\/dist\/main\.js$/.exec(str(c) ?? '')?.[1]).find((s) => s !== undefined);

/** Every `containers` list anywhere in a document (Deployments, StatefulSets, strategic-merge patches). */
function containersIn(node: unknown): Obj[] {
  if (Array.isArray(node)) return node.flatMap(containersIn);
  if (!isObj(node)) return [];
  const here = Array.isArray(node['containers']) ? arr(node['containers']).filter(isObj) : [];
  return [...here, ...Object.entries(node).flatMap(([k, v]) => (k === 'containers' ? [] : containersIn(v)))];
}

/** Variable names set by a kustomization: generator literals and env entries in inline patches. */
function envNamesInKustomization(k: Obj): string[] {
  const names: string[] = [];
  for (const gen of arr(k['configMapGenerator']).filter(isObj))
    for (const lit of arr(gen['literals'])) names.push((str(lit) ?? '').split('=')[0]!);
  for (const p of arr(k['patches']).filter(isObj)) {
    const inline = str(p['patch']);
    if (inline === undefined) continue;
    const parsed: unknown = parse(inline);
    if (Array.isArray(parsed)) {
      // JSON 6902: `add …/env/-` with a `{name, value}`.
      for (const op of parsed.filter(isObj))
        if (/\/env(\/|$)/.test(str(op['path']) ?? '')) for (const e of [op['value']].flat().filter(isObj)) names.push(str(e['name']) ?? '');
    } else {
      for (const c of containersIn(parsed)) if (isPipewrightImage(c['image'])) for (const e of arr(c['env']).filter(isObj)) names.push(str(e['name']) ?? '');
    }
  }
  return names;
}

function literals(k: Obj, configMap: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const gen of arr(k['configMapGenerator']).filter(isObj))
    if (gen['name'] === configMap)
      for (const lit of arr(gen['literals'])) {
        const [key, ...rest] = (str(lit) ?? '').split('=');
        out[key!] = rest.join('=');
      }
  return out;
}

/** The shutdown force margin after PW_SHUTDOWN_GRACE_MS, read from the kit's source. */
function forceExtraMs(): number {
  const text = readFileSync(join(ROOT, 'packages/kit/src/service/shutdown.ts'), 'utf8');
  const m = /FORCE_EXTRA_MS\s*=\s*([\d_]+)/.exec(text);
  if (!m) {
    console.warn('manifests.test: FORCE_EXTRA_MS not found in packages/kit/src/service/shutdown.ts; assuming 0');
    return 0;
  }
  return Number(m[1]!.replace(/_/g, ''));
}

interface Workload {
  file: string;
  kind: string;
  name: string;
  pod: Obj;
  podMeta: Obj;
}

/** Complete workloads (those with a selector), as opposed to patches of them. */
function workloadsIn(docs: readonly { file: string; doc: unknown }[]): Workload[] {
  return docs
    .filter(({ doc }) => isObj(doc) && (doc['kind'] === 'Deployment' || doc['kind'] === 'StatefulSet') && isObj(obj(doc['spec'])['selector']))
    .map(({ file, doc }) => {
      const d = obj(doc);
      const template = obj(obj(d['spec'])['template']);
      return { file, kind: str(d['kind'])!, name: str(obj(d['metadata'])['name']) ?? '?', pod: obj(template['spec']), podMeta: obj(template['metadata']) };
    });
}

/** A value from a Secret or ConfigMap, long enough for the secrets that have a minimum length. */
const SECRET_STAND_IN = 'from-a-secret-stand-in-of-at-least-32-characters';

/** The environment a container starts with: its ConfigMaps (envFrom), then its own `env` values. */
function effectiveEnv(c: Obj, configMaps: Readonly<Record<string, Record<string, string>>>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of arr(c['envFrom']).filter(isObj)) {
    const cm = str(obj(from['configMapRef'])['name']);
    if (cm !== undefined) Object.assign(env, configMaps[cm] ?? {});
  }
  for (const e of arr(c['env']).filter(isObj)) {
    const name = str(e['name']);
    if (name === undefined) continue;
    // Secrets are not in the manifests; a stand-in keeps the parser's view complete.
    const value = e['value'];
    env[name] = e['valueFrom'] !== undefined ? SECRET_STAND_IN : typeof value === 'string' || typeof value === 'number' ? String(value) : '';
  }
  return env;
}

/** Shared checks of workloads, on the raw files and on rendered overlays. */
function checkWorkloads(workloads: readonly Workload[], configMaps: Readonly<Record<string, Record<string, string>>>, label: string): void {
  expect(workloads.length, `${label}: workloads`).toBeGreaterThan(0);
  for (const w of workloads) {
    const where = `${label}: ${w.kind} ${w.name} (${w.file})`;
    const podSec = obj(w.pod['securityContext']);
    expect(podSec['runAsNonRoot'], `${where}: runAsNonRoot`).toBe(true);
    // runAsNonRoot cannot verify a user given by name (the image's USER node): a numeric uid is needed.
    expect(typeof podSec['runAsUser'] === 'number' && podSec['runAsUser'] > 0, `${where}: numeric non-root runAsUser`).toBe(true);
    const containers = arr(w.pod['containers']).filter(isObj);
    expect(containers.length, `${where}: containers`).toBeGreaterThan(0);
    for (const c of containers) {
      const cw = `${where} container ${str(c['name'])}`;
      expect(c['livenessProbe'], `${cw}: livenessProbe`).toBeDefined();
      expect(c['readinessProbe'], `${cw}: readinessProbe`).toBeDefined();
      const res = obj(c['resources']);
      expect(obj(res['limits'])['memory'], `${cw}: memory limit`).toBeDefined();
      expect(obj(res['requests'])['cpu'], `${cw}: cpu request`).toBeDefined();
      expect(obj(res['requests'])['memory'], `${cw}: memory request`).toBeDefined();
      const sec = obj(c['securityContext']);
      expect(sec['readOnlyRootFilesystem'], `${cw}: readOnlyRootFilesystem`).toBe(true);
      expect(sec['allowPrivilegeEscalation'], `${cw}: allowPrivilegeEscalation`).toBe(false);
      expect(arr(obj(sec['capabilities'])['drop']), `${cw}: drop ALL capabilities`).toContain('ALL');
      const portNames = arr(c['ports']).filter(isObj).map((p) => p['name']);
      for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
        const port = obj(obj(c[probe])['httpGet'])['port'];
        if (typeof port === 'string') expect(portNames, `${cw}: ${probe} port '${port}' is a named container port`).toContain(port);
      }
      const command = arr(c['command']);
      for (const arg of command) {
        const src = sourceOf(str(arg) ?? '');
        if (src !== undefined) expectSource(src, `${cw}: ${String(arg)}`);
      }
      const service = serviceOf(command);
      if (service === undefined || !isPipewrightImage(c['image'])) continue;

      // A Pipewright service: ops server on PW_HTTP_PORT, probes on it, Prometheus scrapes it.
      const env = effectiveEnv(c, configMaps);
      expect(env['PW_HTTP_PORT'], `${cw}: PW_HTTP_PORT`).toBe(String(OPS_PORT));
      const ops = arr(c['ports']).filter(isObj).find((p) => p['name'] === 'ops');
      expect(ops?.['containerPort'], `${cw}: container port 'ops'`).toBe(OPS_PORT);
      expect(obj(obj(c['livenessProbe'])['httpGet'])['path'], `${cw}: liveness on /healthz`).toBe('/healthz');
      expect(obj(obj(c['readinessProbe'])['httpGet'])['path'], `${cw}: readiness on /readyz`).toBe('/readyz');
      const annotations = obj(w.podMeta['annotations']);
      expect(annotations['prometheus.io/scrape'], `${where}: scrape annotation`).toBe('true');
      expect(annotations['prometheus.io/port'], `${where}: scrape port annotation`).toBe(String(OPS_PORT));

      // SIGTERM drains within PW_SHUTDOWN_GRACE_MS and force-exits FORCE_EXTRA_MS later: Kubernetes
      // must not SIGKILL before that.
      const graceMs = Number(env['PW_SHUTDOWN_GRACE_MS'] ?? '10000');
      const tgps = w.pod['terminationGracePeriodSeconds'];
      expect(typeof tgps, `${where}: terminationGracePeriodSeconds set`).toBe('number');
      expect((tgps as number) * 1000, `${where}: terminationGracePeriodSeconds vs PW_SHUTDOWN_GRACE_MS=${graceMs}`).toBeGreaterThan(graceMs + forceExtraMs());

      // The values pass the service's own config parser (secrets stand in as placeholders).
      if (expectLoader(service, cw)) expect(() => LOADERS[service]!(env), `${cw}: env accepted by services/${service}/src/config.ts`).not.toThrow();
    }
  }
}

const warned = new Set<string>();
/** Logs what is pending once per subject, not once per overlay. */
function warnOnce(key: string, message: string): void {
  if (!warned.has(key)) console.warn(message);
  warned.add(key);
}

/** The source a command's script is built from exists, unless it is a pending service's (logged). */
function expectSource(src: string, where: string): void {
  const pending = /^services\/([^/]+)\//.exec(relative(ROOT, src))?.[1];
  if (!existsSync(src) && pending !== undefined && pending in PENDING_SERVICES) {
    warnOnce(src, `manifests.test: ${where}: ${relative(ROOT, src)} does not exist yet (${PENDING_SERVICES[pending]})`);
    return;
  }
  expect(existsSync(src), `${where} is built from ${relative(ROOT, src)}`).toBe(true);
}

/** Whether `service` has a config loader to check against; fails unless it is one still pending. */
function expectLoader(service: string, where: string): boolean {
  if (LOADERS[service] !== undefined) return true;
  if (service in PENDING_SERVICES) {
    warnOnce(service, `manifests.test: ${where}: services/${service}/src/config.ts does not exist yet (${PENDING_SERVICES[service]}); its values are not checked`);
    return false;
  }
  expect.fail(`${where}: no config loader (services/${service}/src/config.ts) for service ${service}`);
}

function expectNamesReadByCode(names: Iterable<string>, label: string): void {
  const unknown = new Set<string>();
  for (const n of names) {
    if (READ_BY_CODE.has(n)) continue;
    if (n in PENDING_IN_CODE) warnOnce(n, `manifests.test: ${label} sets ${n} (${PENDING_IN_CODE[n]}), which the code does not read yet`);
    else unknown.add(n);
  }
  expect([...unknown], `${label}: environment variables no service reads`).toEqual([]);
}

// kustomize v5 (kubectl's, else one built into $PW_BIN_DIR); overlays render from a copy of deploy/ with
// placeholders for the generated, gitignored NATS keys and approver tokens (test/deploy/support).
const KUSTOMIZE = findKustomize();
const KUBECTL = KUSTOMIZE.command !== undefined;
if (!KUBECTL) console.warn(`manifests.test: no kustomize v5 (${KUSTOMIZE.reason}); the rendering checks are skipped`);
const workspace = deployWorkspace();
afterAll(() => workspace.remove());
const kustomize = (overlay: OverlayName): unknown[] => render(KUSTOMIZE.command!, workspace, overlay);

function checkRendered(docs: readonly unknown[], label: string): void {
  const configMaps: Record<string, Record<string, string>> = {};
  for (const d of docs.filter(isObj))
    if (d['kind'] === 'ConfigMap') configMaps[str(obj(d['metadata'])['name']) ?? ''] = Object.fromEntries(Object.entries(obj(d['data'])).map(([k, v]) => [k, String(v)]));
  const workloads = workloadsIn(docs.map((doc) => ({ file: 'rendered', doc })));
  for (const d of docs.filter(isObj))
    if (d['kind'] !== 'Namespace') expect(obj(d['metadata'])['namespace'], `${label}: ${String(d['kind'])}/${String(obj(d['metadata'])['name'])} namespace`).toBe('pipewright');
  checkWorkloads(workloads, configMaps, label);
  const names = new Set<string>();
  for (const w of workloads)
    for (const c of arr(w.pod['containers']).filter(isObj))
      if (isPipewrightImage(c['image'])) for (const n of Object.keys(effectiveEnv(c, configMaps))) names.add(n);
  expectNamesReadByCode(names, label);
}

/** The variables of a compose service's `env_file`s, read from the workspace (where generated ones are stand-ins). */
function envFiles(svc: Obj): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of arr(svc['env_file'])) {
    const path = str(f) ?? str(obj(f)['path']) ?? '';
    for (const line of readFileSync(join(dirname(workspace.compose), path), 'utf8').split('\n')) {
      const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line.trim());
      if (m) out[m[1]!] = m[2]!;
    }
  }
  return out;
}

describe('deploy/: manifests agree with the code', () => {
  it('finds the config names in the code (so the name check below means something)', () => {
    for (const n of ['NATS_URL', 'PW_HTTP_PORT', 'PW_SHUTDOWN_GRACE_MS', 'PW_STORE', 'PW_EXECUTOR_POOL', 'OPENAI_API_KEY']) expect(READ_BY_CODE).toContain(n);
  });

  it('parses every YAML file under deploy/', () => {
    expect(yamlFiles.length).toBeGreaterThan(5);
    for (const f of yamlFiles) expect(() => parseDocs(readFileSync(f, 'utf8'), f)).not.toThrow();
  });

  it('names only files and folders that exist in every kustomization', () => {
    for (const { file, doc } of kustomizations) {
      const k = obj(doc);
      const dir = dirname(join(ROOT, file));
      const refs = [
        ...arr(k['resources']),
        ...arr(k['components']),
        ...arr(k['patches'])
          .filter(isObj)
          .map((p) => p['path'])
          .filter((p) => p !== undefined),
      ].map((r) => str(r) ?? '');
      for (const r of refs) expect(existsSync(join(dir, r)), `${file}: ${r}`).toBe(true);
    }
  });

  it('gives every Deployment and StatefulSet probes, limits and a locked-down security context', () => {
    const base = kustomizations.find(({ file }) => file === 'deploy/k8s/base/kustomization.yaml');
    expect(base, 'deploy/k8s/base/kustomization.yaml').toBeDefined();
    const configMaps = Object.fromEntries(['pipewright-env', 'pipewright-budget', 'pipewright-console-env'].map((cm) => [cm, literals(obj(base!.doc), cm)]));
    checkWorkloads(workloadsIn(k8sDocs), configMaps, 'raw manifests');
    const names = new Set(workloadsIn(k8sDocs).map((w) => w.name));
    for (const n of ['planner', 'executor-default', 'budget', 'approver', 'console']) expect(names).toContain(n);
  });

  it('sets only environment variables that the services read', () => {
    const names: string[] = [];
    for (const { doc } of k8sDocs) {
      for (const c of containersIn(doc)) if (isPipewrightImage(c['image'])) for (const e of arr(c['env']).filter(isObj)) names.push(str(e['name']) ?? '');
    }
    for (const { doc } of kustomizations) names.push(...envNamesInKustomization(obj(doc)));
    expect(names.length).toBeGreaterThan(10);
    expectNamesReadByCode(names, 'deploy/k8s');
  });

  it('builds the compose services from paths that exist, with variables and values the services accept', () => {
    const compose = obj(parse(readFileSync(COMPOSE_FILE, 'utf8'), { merge: true }));
    const dir = dirname(COMPOSE_FILE);
    const services = obj(compose['services']);
    for (const n of ['nats', 'jaeger', 'llm-sim', 'planner', 'executor', 'budget', 'approver', 'console']) expect(Object.keys(services)).toContain(n);
    const names: string[] = [];
    for (const [name, raw] of Object.entries(services)) {
      const svc = obj(raw);
      const build = svc['build'];
      if (build !== undefined) {
        const context = resolve(dir, typeof build === 'string' ? build : (str(obj(build)['context']) ?? '.'));
        expect(existsSync(context), `compose ${name}: build context ${context}`).toBe(true);
        const dockerfile = join(context, (isObj(build) ? str(build['dockerfile']) : undefined) ?? 'Dockerfile');
        expect(existsSync(dockerfile), `compose ${name}: ${dockerfile}`).toBe(true);
      }
      for (const v of arr(svc['volumes'])) {
        const source = (str(v) ?? str(obj(v)['source']) ?? '').split(':')[0]!;
        // Generated per installation (nats-auth/, token files): gitignored instead of present.
        const generated = /^\.\/(nats-auth\/|approver-tokens$|console-tokens$)/.exec(source);
        if (generated) expect(readFileSync(join(dir, '.gitignore'), 'utf8'), `compose ${name}: ${source} is gitignored`).toContain(`/${generated[1]!}`);
        else if (/^(\.|\/|~)/.test(source)) expect(existsSync(resolve(dir, source)), `compose ${name}: volume ${source}`).toBe(true);
      }
      const command = arr(svc['command']);
      for (const arg of command) {
        const src = sourceOf(str(arg) ?? '');
        if (src !== undefined) expectSource(src, `compose ${name}: ${String(arg)}`);
      }
      if (!isPipewrightImage(svc['image'])) continue;
      const rawEnv = svc['environment'];
      const env: Record<string, string> = Array.isArray(rawEnv)
        ? Object.fromEntries(rawEnv.map((e) => (str(e) ?? '').split('=')).map(([k, ...v]) => [k!, v.join('=')]))
        : Object.fromEntries(Object.entries(obj(rawEnv)).map(([k, v]) => [k, String(v)]));
      // `${VAR:-default}` as compose would expand it with VAR unset.
      for (const [k, v] of Object.entries(env)) env[k] = v.replace(/\$\{[A-Z0-9_]+:?-([^}]*)\}/g, '$1');
      names.push(...Object.keys(env));
      const service = serviceOf(command);
      if (service !== undefined) {
        // env_file values are generated per installation: the workspace's stand-ins of them, under the service's own.
        Object.assign(env, { ...envFiles(svc), ...env });
        if (expectLoader(service, `compose ${name}`)) expect(() => LOADERS[service]!(env), `compose ${name}: env accepted by services/${service}/src/config.ts`).not.toThrow();
        expect(Number(env['PW_HTTP_PORT']), `compose ${name}: ops server on for the healthcheck`).toBe(OPS_PORT);
        expect(obj(svc['healthcheck'])['test'], `compose ${name}: healthcheck`).toBeDefined();
      }
    }
    expectNamesReadByCode(names, 'deploy/compose');
  });

  it('keeps the Dockerfile building every workspace project and starting a real service', () => {
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^FROM \$\{NODE_IMAGE\} AS runtime$/m);
    // The image's Node satisfies the project's engines.node (its major, e.g. node:24-bookworm-slim for >=24).
    const nodeImage = /^ARG NODE_IMAGE=node:(\d+)-bookworm-slim$/m.exec(dockerfile);
    expect(nodeImage, 'Dockerfile ARG NODE_IMAGE=node:<major>-bookworm-slim').not.toBeNull();
    const engines = str(obj(obj(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')))['engines'])['node']) ?? '';
    expect(Number(nodeImage![1]), `Dockerfile Node vs engines.node ${engines}`).toBeGreaterThanOrEqual(Number(/\d+/.exec(engines)?.[0] ?? NaN));
    expect(dockerfile).toMatch(/^USER node$/m);
    const cmd = /^CMD (\[.*\])$/m.exec(dockerfile);
    expect(cmd, 'Dockerfile CMD').not.toBeNull();
    for (const arg of JSON.parse(cmd![1]!) as string[]) {
      const src = sourceOf(arg);
      if (src !== undefined) expect(existsSync(src), `Dockerfile CMD ${arg}`).toBe(true);
    }
    for (const m of dockerfile.matchAll(/^COPY (?!--from)(\S+) /gm)) expect(existsSync(join(ROOT, m[1]!)), `Dockerfile COPY ${m[1]!}`).toBe(true);
    // The frozen install needs every workspace project's package.json, and `tsc -b` its sources.
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim().replace(/^\/+|\/+$/g, ''))
      .filter((l) => l !== '' && !l.startsWith('#'));
    const workspace = obj(parse(readFileSync(join(ROOT, 'pnpm-workspace.yaml'), 'utf8')));
    for (const pattern of arr(workspace['packages']).map((p) => str(p) ?? '')) {
      const top = pattern.split('/')[0]!;
      expect(ignored, `.dockerignore must not exclude workspace folder ${top}`).not.toContain(top);
      expect(ignored).not.toContain(pattern);
    }
    for (const needed of ['package.json', 'pnpm-lock.yaml', 'pnpm-workspace.yaml', 'tsconfig.json', 'tsconfig.base.json', 'examples'])
      expect(ignored, `.dockerignore must not exclude ${needed}`).not.toContain(needed);
  });

  for (const overlay of OVERLAYS) {
    it.skipIf(!KUBECTL)(`renders overlays/${overlay} with kubectl kustomize, and the result passes the same checks`, () => {
      const docs = kustomize(overlay);
      checkRendered(docs, `overlays/${overlay}`);
      const kinds = docs.filter(isObj).map((d) => `${String(d['kind'])}/${String(obj(d['metadata'])['name'])}`);
      for (const k of ['Namespace/pipewright', 'Deployment/planner', 'Deployment/executor-default', 'Deployment/budget', 'Deployment/approver', 'Service/approver', 'Deployment/console', 'Service/console'])
        expect(kinds).toContain(k);
      if (overlay === 'local') {
        for (const k of ['StatefulSet/nats', 'Deployment/llm-sim', 'Service/llm-sim', 'Deployment/jaeger', 'Service/jaeger']) expect(kinds).toContain(k);
        for (const d of docs.filter(isObj)) if (d['kind'] === 'Deployment') expect(obj(d['spec'])['replicas'], `local ${String(obj(d['metadata'])['name'])}: one replica`).toBe(1);
      } else {
        // Production manages no Secret (the placeholder key never reaches it) and runs no NATS of its own.
        expect(kinds.filter((k) => k.startsWith('Secret/') || k.startsWith('StatefulSet/'))).toEqual([]);
      }
    });
  }

  it.skipIf(!KUBECTL)('renders every optional component when production enables them: the gpu executor pool, the console Ingress and webhooks', () => {
    // What a user does: uncomment the components in overlays/production (the workspace's production+components).
    expect(workspace.overlays.find((o) => o.name === 'production+components')?.components).toEqual(['executor-pool-gpu', 'console-ingress', 'console-webhooks']);
    const docs = kustomize('production+components');
    checkRendered(docs, 'production + components');
    const gpu = workloadsIn(docs.map((doc) => ({ file: 'rendered', doc }))).find((w) => w.name === 'executor-gpu');
    expect(gpu, 'Deployment executor-gpu').toBeDefined();
    const env = arr(obj(arr(gpu!.pod['containers'])[0])['env']).filter(isObj);
    expect(env.find((e) => e['name'] === 'PW_EXECUTOR_POOL')?.['value']).toBe('gpu');
  });
});
