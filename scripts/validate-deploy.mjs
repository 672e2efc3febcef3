#!/usr/bin/env node
// Offline validation of deploy/, as CI runs it (scripts/test.sh):
//   1. renders every kustomize overlay (local, production, and each with every optional component) with
//      kustomize v5 and validates every rendered object, strictly, against the Kubernetes JSON Schemas
//      (kubernetes-models) and KEDA's (@kubernetes-models/keda): wrong types and unknown fields fail;
//   2. validates the manifests applied outside kustomize (overlays/production/nats-network-policy.yaml);
//   3. loads deploy/compose/docker-compose.yml with the Compose specification's loader (compose-go).
// Generated files (nats-auth/, token files, the console's session secret) are stood in for by
// placeholders in a temporary copy.
//
//   node scripts/validate-deploy.mjs                      everything above
//   node scripts/validate-deploy.mjs --objects FILE...    only the objects in these YAML files
//   node scripts/validate-deploy.mjs --compose FILE...    only these Compose files
// Exit 0 when all is valid; 1 with every problem on stderr, each naming its object and field.
import process from 'node:process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describeObject, validateObject } from './validate-deploy/k8s-schema.mjs';
import { composeCheck, kustomizeBuild, kustomizeCommand, ROOT } from './validate-deploy/tools.mjs';
import { deployWorkspace } from './validate-deploy/workspace.mjs';

/** Manifests applied with `kubectl apply -f`, not part of any kustomization. */
const RAW_MANIFESTS = ['deploy/k8s/overlays/production/nats-network-policy.yaml'];

const problems = [];

function parseObjects(text, label) {
  return parseAllDocuments(text).flatMap((doc) => {
    if (doc.errors.length > 0) {
      problems.push(`${label}: ${doc.errors.map((e) => e.message).join('; ')}`);
      return [];
    }
    const value = doc.toJS();
    return value === null ? [] : [value];
  });
}

async function checkObjects(objects, label) {
  for (const o of objects) for (const p of await validateObject(o)) problems.push(`${label}: ${describeObject(o)}: ${p}`);
  return objects.length;
}

function checkCompose(files, cwd) {
  const r = composeCheck(files, cwd);
  if (!r.ok) problems.push(r.output);
  else process.stdout.write(`${r.output}\n`);
}

const [mode, ...files] = process.argv.slice(2);
if (mode === '--objects') {
  for (const f of files) await checkObjects(parseObjects(readFileSync(f, 'utf8'), f), f);
} else if (mode === '--compose') {
  checkCompose(files, process.cwd());
} else if (mode === undefined) {
  const ws = deployWorkspace();
  try {
    const kustomize = kustomizeCommand();
    for (const { name, dir } of ws.overlays) {
      let text;
      try {
        text = kustomizeBuild(kustomize, dir);
      } catch (err) {
        problems.push(String(err instanceof Error ? err.message : err).replaceAll(ws.deploy, 'deploy'));
        continue;
      }
      const n = await checkObjects(parseObjects(text, `overlays/${name}`), `overlays/${name}`);
      process.stdout.write(`validate-deploy: overlays/${name}: ${n} objects checked\n`);
    }
    for (const f of RAW_MANIFESTS) await checkObjects(parseObjects(readFileSync(join(ROOT, f), 'utf8'), f), f);
    checkCompose([ws.compose], ROOT);
  } finally {
    ws.remove();
  }
} else {
  process.stderr.write('usage: validate-deploy.mjs [--objects FILE... | --compose FILE...]\n');
  process.exit(2);
}

if (problems.length > 0) {
  process.stderr.write(`${problems.map((p) => `validate-deploy: ${p}`).join('\n')}\n`);
  process.exit(1);
}
process.stdout.write('validate-deploy: ok\n');
