// Typed references: `steps.triage.output.category` in a builder callback is a proxy that remembers its
// path (`steps.triage.output.category`) and carries, at the type level only, the type of the value there.
// A field the type does not have is a compile error; at run time the proxy only records the path.

/** The type of the value a reference points at; exists only at the type level. */
declare const VALUE: unique symbol;
const PATH = Symbol.for('pipewright.sdk.ref.path');

/** What every reference has: its path and, for the compiler, the type of the value. */
export interface RefBase<T> {
  readonly [VALUE]?: T;
}

type Scalar = string | number | boolean | bigint | null | undefined;

/**
 * A reference to a value of type `T`: its fields are references too (`ref.customer.tier`, also when the
 * object may be null or missing: the path then has no value). Arrays, scalars and `unknown` have no
 * fields; an array is referenced whole (a map's `over`).
 */
export type Ref<T> = RefBase<T> & RefFields<NonNullable<T>>;
type RefFields<T> = unknown extends T ? unknown : [T] extends [Scalar] ? unknown : T extends readonly unknown[] ? unknown : T extends object ? { readonly [K in keyof T & string]-?: Ref<T[K]> } : unknown;

/** The value type of a reference. */
export type RefValue<R> = R extends RefBase<infer T> ? T : never;

/** Whether a value is a reference made by this SDK. */
export function isRef(value: unknown): value is RefBase<unknown> {
  return typeof value === 'function' && typeof (value as unknown as Record<symbol, unknown>)[PATH] === 'string';
}

/** The dotted path of a reference (`steps.triage.output.category`). */
export function refPath(ref: RefBase<unknown>): string {
  const path = (ref as unknown as Record<symbol, unknown>)[PATH];
  if (typeof path !== 'string') throw new TypeError('not a reference made by the Pipewright SDK');
  return path;
}

const SEGMENT = /^[A-Za-z0-9_-]+$/;

/**
 * A reference rooted at `path`. A function target keeps the proxy apart from plain objects (and from
 * `await`: it has no `then`). Reading a field extends the path; a field name a path cannot hold throws.
 */
export function makeRef<T>(path: string): Ref<T> {
  const target = function pipewrightRef() {
    /* a reference is not callable */
  };
  return new Proxy(target, {
    get(_t, key) {
      if (key === PATH) return path;
      if (key === Symbol.toPrimitive || key === 'toString') return () => `{{${path}}}`;
      if (key === 'toJSON') return () => `{{${path}}}`;
      if (typeof key === 'symbol' || key === 'then') return undefined;
      if (!SEGMENT.test(key)) throw new TypeError(`"${key}" cannot be part of a path (${path}.${key}): use letters, digits, "_" or "-"`);
      return makeRef(`${path}.${key}`);
    },
    has(_t, key) {
      return key === PATH;
    },
    apply() {
      throw new TypeError(`${path} is a reference, not a function`);
    },
  }) as unknown as Ref<T>;
}
