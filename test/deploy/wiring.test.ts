import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SIM_PRICES } from '@pipewright/cli';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { deployWorkspace, findKustomize, render, type OverlayName } from './support/render.js';

/**
 * What the rendered overlays must wire, beyond schema validity: each service its own NATS identity,
 * the approver its tokens, the planner the approver's public key, the console its tokens, session key,
 * Service, NetworkPolicies and (as components) Ingress and webhooks, KEDA on both consumers of every
 * executor pool (and nothing else owning their replicas), PDBs, pinned images, and a local overlay
 * whose budget prices the simulator's models.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? (v as unknown[]) : []);
const name = (d: Obj) => String(obj(d['metadata'])['name']);
const ROLE_OF: Readonly<Record<string, string>> = { planner: 'planner', budget: 'budget', approver: 'approver', console: 'console', 'executor-default': 'executor', 'executor-gpu': 'executor' };
const CONSOLE_PORT = 8070;
const SEED_FILE = '/etc/pipewright/nats/seed.nk';
/** The versions the tests run (scripts/ensure-servers.sh, docs): the images must be those. */
const NATS_IMAGE = 'nats:2.14.5-alpine';
const JAEGER_IMAGE = 'jaegertracing/jaeger:2.12.0';

const KUSTOMIZE = findKustomize();
const ws = deployWorkspace();
afterAll(() => ws.remove());
const rendered = new Map<OverlayName, Obj[]>();
const docs = (o: OverlayName): Obj[] => {
  if (!rendered.has(o)) rendered.set(o, render(KUSTOMIZE.command!, ws, o).map(obj));
  return rendered.get(o)!;
};
const ofKind = (o: OverlayName, kind: string) => docs(o).filter((d) => d['kind'] === kind);
/** Generated names carry a content hash: `pipewright-nats-planner-7g…` is `pipewright-nats-planner`. */
const unhashed = (n: unknown) => String(n).replace(/-[a-z0-9]{10}$/, '');
const pod = (d: Obj) => obj(obj(obj(d['spec'])['template'])['spec']);
const container = (d: Obj) => obj(arr(pod(d)['containers'])[0]);
/** A key of the overlay's ConfigMaps' data (the first that has it). */
const dataValue = (o: OverlayName, key: string): string =>
  ofKind(o, 'ConfigMap')
    .map((c) => obj(c['data'])[key])
    .find((v): v is string => typeof v === 'string') ?? '';
const envOf = (d: Obj) => new Map(arr(container(d)['env']).map((e) => [String(obj(e)['name']), obj(e)]));

/** The Secret (unhashed name) and key mounted at `path` in a Deployment's first container. */
function mountedSecret(d: Obj, path: string): { secret: string; key: string } | undefined {
  for (const m of arr(container(d)['volumeMounts']).map(obj)) {
    const dir = String(m['mountPath']);
    if (!path.startsWith(`${dir}/`)) continue;
    const vol = arr(pod(d)['volumes']).map(obj).find((v) => v['name'] === m['name']);
    const secret = obj(vol?.['secret']);
    const item = arr(secret['items']).map(obj).find((i) => `${dir}/${String(i['path'])}` === path);
    if (item) return { secret: unhashed(secret['secretName']), key: String(item['key']) };
  }
  return undefined;
}

/** Ports a NetworkPolicy rule list admits (`ingress` or `egress`). */
const policyPorts = (p: Obj, direction: 'ingress' | 'egress') => arr(obj(p['spec'])[direction]).flatMap((r) => arr(obj(r)['ports']).map((x) => obj(x)['port']));
const selects = (p: Obj, app: string) => obj(obj(obj(p['spec'])['podSelector'])['matchLabels'])['app.kubernetes.io/name'] === app;

function checkConsole(overlay: OverlayName): void {
  const consoleDeployment = ofKind(overlay, 'Deployment').find((d) => name(d) === 'console');
  expect(consoleDeployment, 'Deployment/console').toBeDefined();
  const env = envOf(consoleDeployment!);
  const tokensFile = String(env.get('PW_CONSOLE_TOKENS_FILE')?.['value']);
  expect(mountedSecret(consoleDeployment!, tokensFile), 'PW_CONSOLE_TOKENS_FILE is mounted').toEqual({ secret: 'pipewright-console', key: 'tokens' });
  // Every replica signs sessions with one key, so it is a Secret's and required (no per-pod fallback).
  const sessionKey = obj(obj(env.get('PW_CONSOLE_SESSION_SECRET')?.['valueFrom'])['secretKeyRef']);
  expect([unhashed(sessionKey['name']), sessionKey['key'], sessionKey['optional']], 'PW_CONSOLE_SESSION_SECRET').toEqual(['pipewright-console', 'session-secret', undefined]);
  expect(Number(env.get('PW_CONSOLE_PORT')?.['value'])).toBe(CONSOLE_PORT);
  const c = container(consoleDeployment!);
  expect(arr(c['ports']).map(obj).find((p) => p['name'] === 'http')?.['containerPort']).toBe(CONSOLE_PORT);
  // Liveness starts only once the index has caught up (the startup probe waits on /readyz).
  expect(obj(obj(c['startupProbe'])['httpGet'])['path']).toBe('/readyz');
  const urls = Object.fromEntries(ofKind(overlay, 'ConfigMap').filter((m) => unhashed(name(m)) === 'pipewright-console-env').flatMap((m) => Object.entries(obj(m['data']))));
  for (const key of ['PW_CONSOLE_PUBLIC_URL', 'PW_CONSOLE_INBOX_URL']) expect(() => new URL(String(urls[key])), `${overlay}: ${key} is a URL`).not.toThrow();
  expect(() => new URL(dataValue(overlay, 'PW_JAEGER_UI_URL')), `${overlay}: PW_JAEGER_UI_URL is a URL`).not.toThrow();
  const service = ofKind(overlay, 'Service').find((s) => name(s) === 'console');
  expect(arr(obj(service?.['spec'])['ports']).map(obj).map((p) => [p['port'], p['targetPort']])).toEqual([[CONSOLE_PORT, 'http']]);
  const policies = ofKind(overlay, 'NetworkPolicy').filter((p) => selects(p, 'console'));
  expect(policies.flatMap((p) => policyPorts(p, 'ingress')), 'ingress to the API').toContain(CONSOLE_PORT);
  const egress = policies.filter((p) => arr(obj(p['spec'])['policyTypes']).includes('Egress'));
  expect(egress.length, 'the console egress is closed by a policy').toBe(1);
  // NATS, DNS, MongoDB, OTLP and the webhook receivers' HTTPS: what the console needs, and no more.
  expect(new Set(policyPorts(egress[0]!, 'egress'))).toEqual(new Set([53, 4222, 27017, 4317, 4318, 443]));
}

describe.skipIf(!KUSTOMIZE.command)('deploy/: what the overlays wire', () => {
  for (const overlay of ['local', 'production', 'local+components', 'production+components'] as const) {
    it(`${overlay}: every service has its own NATS identity; the approver its tokens; the planner the approver's key`, () => {
      const deployments = ofKind(overlay, 'Deployment').filter((d) => name(d) in ROLE_OF);
      expect(deployments.length).toBeGreaterThanOrEqual(overlay.endsWith('components') ? 6 : 5);
      for (const d of deployments) {
        const env = envOf(d);
        expect(env.get('NATS_NKEY_SEED_FILE')?.['value'], `${name(d)}: NATS_NKEY_SEED_FILE`).toBe(SEED_FILE);
        expect(mountedSecret(d, SEED_FILE), `${name(d)}: seed mounted`).toEqual({ secret: `pipewright-nats-${ROLE_OF[name(d)]!}`, key: 'seed.nk' });
        expect(arr(container(d)['volumeMounts']).map(obj).every((m) => m['readOnly'] === true || m['mountPath'] === '/tmp'), `${name(d)}: secrets read-only`).toBe(true);
        // Only the planner may manage the streams under the bus permissions: the others wait for them.
        expect(env.get('PW_TOPOLOGY')?.['value'], `${name(d)}: PW_TOPOLOGY`).toBe(name(d) === 'planner' ? undefined : 'verify');
      }
      const approver = deployments.find((d) => name(d) === 'approver')!;
      const tokensFile = String(envOf(approver).get('PW_APPROVER_TOKENS_FILE')?.['value']);
      expect(mountedSecret(approver, tokensFile), 'approver: PW_APPROVER_TOKENS_FILE is mounted').toEqual({ secret: 'pipewright-approver', key: 'tokens' });
      const keys = obj(obj(envOf(deployments.find((d) => name(d) === 'planner')!).get('PW_APPROVER_PUBLIC_KEYS')?.['valueFrom'])['configMapKeyRef']);
      expect([unhashed(keys['name']), keys['key']], 'planner: PW_APPROVER_PUBLIC_KEYS').toEqual(['pipewright-nats-public-keys', 'PW_APPROVER_PUBLIC_KEYS']);
      for (const pdb of ['planner', 'budget', 'approver', 'console', 'executor-default']) expect(ofKind(overlay, 'PodDisruptionBudget').map(name)).toContain(pdb);
      const scrape = ofKind(overlay, 'NetworkPolicy').flatMap((p) => arr(obj(p['spec'])['ingress']).flatMap((i) => arr(obj(i)['ports']).map((x) => obj(x)['port'])));
      expect(scrape, 'a NetworkPolicy admits the metrics port').toContain(9464);
    });
  }

  for (const overlay of ['local', 'production', 'local+components', 'production+components'] as const) {
    it(`${overlay}: the console has its tokens and session key, its Service and its NetworkPolicies`, () => checkConsole(overlay));
  }

  it('production+components: the console Ingress keeps live (SSE) views open; webhooks come from their Secret', () => {
    const ingress = ofKind('production+components', 'Ingress').find((i) => name(i) === 'console');
    expect(ingress, 'Ingress/console').toBeDefined();
    const annotations = obj(obj(ingress!['metadata'])['annotations']);
    expect(Number(annotations['nginx.ingress.kubernetes.io/proxy-read-timeout']), 'an SSE stream outlives the 60 s default').toBeGreaterThanOrEqual(3600);
    expect(annotations['nginx.ingress.kubernetes.io/proxy-buffering'], 'events pass unbuffered').toBe('off');
    const spec = obj(ingress!['spec']);
    expect(arr(spec['tls']).length, 'TLS: tokens and session cookies cross it').toBeGreaterThan(0);
    const backends = arr(spec['rules']).flatMap((r) => arr(obj(obj(r)['http'])['paths']).map((p) => obj(obj(obj(p)['backend'])['service'])));
    expect(backends.map((b) => [b['name'], obj(b['port'])['name']])).toEqual([['console', 'http']]);
    const consoleDeployment = ofKind('production+components', 'Deployment').find((d) => name(d) === 'console')!;
    const file = String(envOf(consoleDeployment).get('PW_CONSOLE_WEBHOOKS_FILE')?.['value']);
    expect(mountedSecret(consoleDeployment, file), 'PW_CONSOLE_WEBHOOKS_FILE is mounted').toEqual({ secret: 'pipewright-console-webhooks', key: 'webhooks.json' });
    // Without the component the variable is unset: the console then sends no webhooks.
    expect(envOf(ofKind('production', 'Deployment').find((d) => name(d) === 'console')!).has('PW_CONSOLE_WEBHOOKS_FILE')).toBe(false);
  });

  for (const overlay of ['production', 'production+components'] as const) {
    it(`${overlay}: KEDA owns every executor pool's replicas, on both of its consumers, at the production NATS`, () => {
      const natsUrl = dataValue(overlay, 'NATS_URL');
      const natsNamespace = /^nats:\/\/[^.]+\.([^.]+)\.svc/.exec(natsUrl)?.[1];
      expect(natsNamespace, `NATS_URL ${natsUrl}`).toBeDefined();
      const executors = ofKind(overlay, 'Deployment').filter((d) => envOf(d).has('PW_EXECUTOR_POOL'));
      expect(executors.length).toBe(overlay.endsWith('components') ? 2 : 1);
      expect(ofKind(overlay, 'HorizontalPodAutoscaler'), 'no second autoscaler').toEqual([]);
      for (const d of executors) {
        const pool = String(envOf(d).get('PW_EXECUTOR_POOL')?.['value']);
        expect(obj(d['spec'])['replicas'], `${name(d)}: replicas left to KEDA`).toBeUndefined();
        const so = ofKind(overlay, 'ScaledObject').find((s) => obj(obj(s['spec'])['scaleTargetRef'])['name'] === name(d));
        expect(so, `${name(d)}: a ScaledObject`).toBeDefined();
        const triggers = arr(obj(so!['spec'])['triggers']).map(obj);
        expect(triggers.map((t) => t['type'])).toEqual(['nats-jetstream', 'nats-jetstream']);
        const meta = triggers.map((t) => obj(t['metadata']));
        expect(meta.map((m) => [m['stream'], m['consumer']])).toEqual([['PW_STEPS', `executor-${pool}`], ['PW_STEPS', `executor-${pool}-tools`]]);
        for (const m of meta) {
          expect(String(m['natsServerMonitoringEndpoint']), 'monitoring endpoint in the NATS namespace').toMatch(new RegExp(`^[^.]+\\.${natsNamespace!}\\.svc\\.cluster\\.local:8222$`));
          expect(m['account']).toBe('$G');
          expect(Number(m['lagThreshold'])).toBeGreaterThan(0);
        }
      }
    });
  }

  it('local: one replica each, no KEDA, the simulator priced, images pinned to the tested versions', () => {
    expect(ofKind('local+components', 'ScaledObject')).toEqual([]);
    const budget = JSON.parse(dataValue('local', 'PW_BUDGET_CONFIG_JSON')) as { prices: unknown };
    expect(budget.prices).toEqual(SIM_PRICES);
    const images = [...ofKind('local', 'Deployment'), ...ofKind('local', 'StatefulSet')].map((d) => String(container(d)['image']));
    expect(images).toContain(NATS_IMAGE);
    expect(images).toContain(JAEGER_IMAGE);
  });
});

describe('deploy/compose: the same wiring', () => {
  const compose = obj(parse(readFileSync(join(ROOT, 'deploy/compose/docker-compose.yml'), 'utf8'), { merge: true }));
  const services = obj(compose['services']);
  it('gives each service its seed, the approver its tokens, the planner the public keys; prices the simulator; pins images', () => {
    for (const [svc, role] of [['planner', 'planner'], ['executor', 'executor'], ['budget', 'budget'], ['approver', 'approver'], ['console', 'console']]) {
      const s = obj(services[svc]);
      expect(obj(s['environment'])['NATS_NKEY_SEED_FILE'], `${svc}: NATS_NKEY_SEED_FILE`).toBe(SEED_FILE);
      expect(arr(s['volumes']), `${svc}: seed mount`).toContain(`./nats-auth/${role}.nk:${SEED_FILE}:ro`);
      expect(obj(s['environment'])['PW_TOPOLOGY'], `${svc}: PW_TOPOLOGY`).toBe(svc === 'planner' ? undefined : 'verify');
    }
    const approver = obj(services['approver']);
    expect(arr(approver['volumes'])).toContain(`./approver-tokens:${String(obj(approver['environment'])['PW_APPROVER_TOKENS_FILE'])}:ro`);
    expect(arr(obj(services['planner'])['env_file']).map((e) => obj(e)['path'])).toContain('./nats-auth/public-keys.env');
    const consoleService = obj(services['console']);
    expect(arr(consoleService['volumes'])).toContain(`./console-tokens:${String(obj(consoleService['environment'])['PW_CONSOLE_TOKENS_FILE'])}:ro`);
    // The session key is the user's secret, from a generated, gitignored env file rather than the Compose file.
    expect(arr(consoleService['env_file']).map((e) => obj(e)['path'])).toContain('./console.env');
    expect(obj(consoleService['environment'])['PW_CONSOLE_SESSION_SECRET']).toBeUndefined();
    expect(readFileSync(join(ROOT, 'deploy/compose/.gitignore'), 'utf8')).toMatch(/^\/console\.env$/m);
    const budget = JSON.parse(String(obj(obj(services['budget'])['environment'])['PW_BUDGET_CONFIG_JSON'])) as { prices: unknown };
    expect(budget.prices).toEqual(SIM_PRICES);
    expect(obj(services['nats'])['image']).toBe(NATS_IMAGE);
    expect(obj(services['jaeger'])['image']).toBe(JAEGER_IMAGE);
  });
});
