import { isRef, refPath, type RefBase } from './ref.js';

/** What a template may interpolate: a reference (rendered `{{path}}`), or a literal string, number or boolean. */
export type TemplatePart = RefBase<unknown> | string | number | boolean;

/**
 * A prompt template: `tpl\`Classify ${steps.triage.output.category}\`` is
 * `"Classify {{steps.triage.output.category}}"`. References are checked by the compiler where they are
 * read; literals are inserted as they are. Braces (`{{`, `}}`) in literal text are refused: the run
 * would read them as a reference.
 */
export function tpl(strings: TemplateStringsArray, ...parts: TemplatePart[]): string {
  let out = '';
  strings.forEach((s, i) => {
    out += literal(s);
    if (i < parts.length) {
      const part = parts[i];
      out += isRef(part) ? `{{${refPath(part)}}}` : literal(String(part));
    }
  });
  return out;
}

function literal(text: string): string {
  if (text.includes('{{') || text.includes('}}')) throw new TypeError(`a template's literal text may not hold "{{" or "}}" (in ${JSON.stringify(text.slice(0, 80))}): interpolate references with \${…}`);
  return text;
}

/** A reference as a lone template (`{{path}}`): a sub-pipeline input field keeps the value's type. */
export function refTemplate(ref: RefBase<unknown>): string {
  return `{{${refPath(ref)}}}`;
}
