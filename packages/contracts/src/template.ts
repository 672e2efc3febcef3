/**
 * Prompt templates: `{{ path }}` is replaced by the value at `path` in the context
 * (`input.…` or `steps.<id>.output.…`). Strings are inserted as they are, other values as JSON.
 * No logic, no escaping: templates are prompts, not HTML.
 */

const TAG = /\{\{\s*([^{}]*?)\s*\}\}/g;
const PATH = /^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$/;

export interface TemplateRef {
  /** The whole path, e.g. `steps.outline.output.title`. */
  readonly path: string;
  readonly segments: readonly string[];
}

export type TemplateParse = { ok: true; refs: TemplateRef[] } | { ok: false; message: string };

/** Lists the references of a template, or says why it is malformed. */
export function parseTemplate(template: string): TemplateParse {
  const refs: TemplateRef[] = [];
  for (const m of template.matchAll(TAG)) {
    const path = m[1] ?? '';
    if (!PATH.test(path)) return { ok: false, message: `malformed reference "{{${path}}}"` };
    refs.push({ path, segments: path.split('.') });
  }
  const stray = template.replace(TAG, '');
  if (stray.includes('{{') || stray.includes('}}')) return { ok: false, message: 'unbalanced "{{" or "}}"' };
  return { ok: true, refs };
}

/** Looks up a dotted path in a JSON value; `undefined` when any segment is missing. */
export function lookup(value: unknown, segments: readonly string[]): unknown {
  let cur: unknown = value;
  for (const seg of segments) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur;
}

export class TemplateError extends Error {
  override readonly name = 'TemplateError';
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(message);
  }
}

/** Renders a template; throws TemplateError when a referenced value is missing. */
export function renderTemplate(template: string, context: Record<string, unknown>): string {
  return template.replace(TAG, (_all, raw: string) => {
    const path = raw.trim();
    const value = lookup(context, path.split('.'));
    if (value === undefined) throw new TemplateError(`template references "${path}", which has no value`, path);
    return typeof value === 'string' ? value : JSON.stringify(value);
  });
}
