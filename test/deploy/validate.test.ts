import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * scripts/validate-deploy.mjs, the CI check of deploy/: it accepts the repository's manifests and
 * Compose file, and refuses broken ones, naming the field. Go (for compose-check) and kustomize v5
 * (kubectl's, or one the script installs) are on CI machines; the first run builds compose-check.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SCRIPT = join(ROOT, 'scripts/validate-deploy.mjs');
const GO_BUILD_MS = 20 * 60_000;
const tmp = mkdtempSync(join(tmpdir(), 'pw-validate-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function validate(...args: string[]) {
  const r = spawnSync(process.execPath, [SCRIPT, ...args], { cwd: ROOT, encoding: 'utf8', timeout: GO_BUILD_MS });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

function file(name: string, text: string): string {
  const p = join(tmp, name);
  writeFileSync(p, text);
  return p;
}

const DEPLOYMENT = (spec: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: executor-default
spec:
  selector:
    matchLabels: { app: x }
  template:
    metadata:
      labels: { app: x }
    spec:
      containers:
        - name: executor
          image: pipewright
${spec}`;

describe('scripts/validate-deploy.mjs', () => {
  it('accepts every overlay and the Compose file as they are in the repository', { timeout: GO_BUILD_MS }, () => {
    const r = validate();
    expect(r.out).toMatch(/overlays\/production\+components: \d+ objects checked/);
    expect(r.out).toMatch(/ok \(8 services/);
    expect(r.status, r.out).toBe(0);
  });

  it('accepts a well-formed object (so the refusals below are about the broken field)', () => {
    const r = validate('--objects', file('good.yaml', DEPLOYMENT('          resources: { limits: { memory: 512Mi } }\n')));
    expect(r.status, r.out).toBe(0);
  });

  it('refuses an unknown field, naming it', () => {
    const r = validate('--objects', file('unknown.yaml', DEPLOYMENT('          imagePullPolicyy: Always\n')));
    expect(r.status).toBe(1);
    expect(r.out).toContain('Deployment/executor-default: spec.template.spec.containers[0].imagePullPolicyy: unknown field');
  });

  it('refuses a wrong type, naming the field', () => {
    const r = validate('--objects', file('type.yaml', DEPLOYMENT('').replace('spec:\n  selector', 'spec:\n  replicas: three\n  selector')));
    expect(r.status).toBe(1);
    expect(r.out).toContain('Deployment/executor-default: spec.replicas must be integer');
  });

  it('refuses a broken KEDA ScaledObject against the KEDA schema', () => {
    const so = `apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: { name: executor-default }
spec:
  scaleTargetRef: { name: executor-default }
  minReplicaCount: two
  triggers:
    - type: nats-jetstream
      lagTreshold: "48"
      metadata: { stream: PW_STEPS, consumer: executor-default }
`;
    const r = validate('--objects', file('so.yaml', so));
    expect(r.status).toBe(1);
    expect(r.out).toContain('ScaledObject/executor-default: spec.minReplicaCount must be integer');
    expect(r.out).toContain('ScaledObject/executor-default: spec.triggers[0].lagTreshold: unknown field');
  });

  it('refuses an object of a kind it has no schema for', () => {
    const r = validate('--objects', file('kind.yaml', 'apiVersion: apps/v1\nkind: Deploymnet\nmetadata: { name: x }\n'));
    expect(r.status).toBe(1);
    expect(r.out).toContain('no schema for apps/v1 Deploymnet');
  });

  it('refuses a Compose file with an unknown field or a wrong type, naming it', { timeout: GO_BUILD_MS }, () => {
    const unknown = validate('--compose', file('unknown-compose.yml', 'services:\n  planner:\n    image: pipewright:dev\n    restart_policy: always\n'));
    expect(unknown.status).toBe(1);
    expect(unknown.out).toContain('services.planner.restart_policy');
    const type = validate('--compose', file('type-compose.yml', 'services:\n  planner:\n    image: pipewright:dev\n    ports: 8080\n'));
    expect(type.status).toBe(1);
    expect(type.out).toContain('services.planner.ports must be a array');
    const good = validate('--compose', file('good-compose.yml', 'services:\n  planner:\n    image: pipewright:dev\n    ports: ["8080:8080"]\n'));
    expect(good.status, good.out).toBe(0);
  });
});
