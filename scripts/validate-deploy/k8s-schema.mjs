// Validates Kubernetes objects against the JSON Schemas that ship in `kubernetes-models` (the API's
// own OpenAPI) and `@kubernetes-models/keda` (KEDA's CRDs), strictly: a field the schema does not
// define is an error, as `kubectl apply --validate=strict` would make it.
//
// The packages' compiled validators check types, enums and required fields but accept unknown keys.
// Strictness comes from watching them work: the object is validated through a Proxy that records which
// keys the validator reads on each object. A compiled validator reads every property its schema
// defines; an object it enumerates instead (a map such as `labels` or a ConfigMap's `data`) is open by
// schema. So a key that was neither read nor enumerated is one the schema does not know.

/** Where the model classes of an apiVersion live: core `v1`, `group/version`, or KEDA's group. */
const MODULES = [(apiVersion) => `kubernetes-models/${apiVersion}`, (apiVersion) => `@kubernetes-models/keda/${apiVersion}`];

async function modelClass(apiVersion, kind) {
  for (const moduleOf of MODULES) {
    let mod;
    try {
      mod = await import(moduleOf(apiVersion));
    } catch {
      continue;
    }
    if (typeof mod[kind] === 'function') return mod[kind];
  }
  return undefined;
}

/** Wraps `root` so that every key read and every enumeration, at any depth, is recorded. */
function tracker() {
  const records = new Map();
  const proxies = new WeakMap();
  const wrap = (value, path) => {
    if (typeof value !== 'object' || value === null) return value;
    const known = proxies.get(value);
    if (known) return known;
    const rec = { path, read: new Set(), enumerated: false, keys: Array.isArray(value) ? [] : Object.keys(value) };
    records.set(value, rec);
    const proxy = new Proxy(value, {
      get(target, key, receiver) {
        const v = Reflect.get(target, key, receiver);
        if (typeof key !== 'string') return v;
        rec.read.add(key);
        return Object.hasOwn(target, key) ? wrap(v, Array.isArray(target) ? `${path}[${key}]` : `${path}.${key}`) : v;
      },
      has(target, key) {
        if (typeof key === 'string') rec.read.add(key);
        return Reflect.has(target, key);
      },
      ownKeys(target) {
        rec.enumerated = true;
        return Reflect.ownKeys(target);
      },
    });
    proxies.set(value, proxy);
    return proxy;
  };
  const unknownFields = () =>
    [...records.values()].filter((r) => !r.enumerated).flatMap((r) => r.keys.filter((k) => !r.read.has(k)).map((k) => `${r.path}.${k}`.replace(/^\./, '')));
  return { wrap, unknownFields };
}

/**
 * Problems of one object, each naming the field: schema errors (`spec.replicas must be integer`) and
 * unknown fields (`spec.template.spec.containers[0].imagePullPolicyy: unknown field`). Empty when valid.
 */
export async function validateObject(doc) {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return ['not an object'];
  const { apiVersion, kind } = doc;
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') return ['apiVersion and kind are required'];
  const Model = await modelClass(apiVersion, kind);
  if (Model === undefined) return [`no schema for ${apiVersion} ${kind} in kubernetes-models or @kubernetes-models/keda`];
  const t = tracker();
  const problems = [];
  // kustomize's secretGenerator wraps long base64 values over lines; the API server's decoder (Go's
  // encoding/base64) skips line breaks, so the schema's `byte` format is checked without them.
  if (kind === 'Secret' && typeof doc.data === 'object' && doc.data !== null)
    doc = { ...doc, data: Object.fromEntries(Object.entries(doc.data).map(([k, v]) => [k, typeof v === 'string' ? v.replace(/\r?\n/g, '') : v])) };
  try {
    Model.prototype.validate.call(t.wrap(doc, ''));
  } catch (err) {
    // ajv's messages: "data/spec/replicas must be integer, data/... ..." → dotted paths.
    for (const part of String(err instanceof Error ? err.message : err).split(/, (?=data)/))
      problems.push(part.replace(/^data\/?/, '').replace(/^(\S*)/, (p) => p.replaceAll('/', '.')));
  }
  for (const field of t.unknownFields()) problems.push(`${field}: unknown field`);
  return problems;
}

/** `Kind/name` of an object, for messages. */
export const describeObject = (doc) => `${doc?.kind ?? '?'}/${doc?.metadata?.name ?? '?'}`;
