import type { ValidationIssue } from './common.js';
import { formatPath } from './issues.js';
import { PipelineSpec, type ResolvedTool, type ToolDecl } from './pipeline.js';
import { toolInputDigest, type ToolRegistration } from './tool.js';

/** What the registry holds under a name: a valid entry, or one that does not parse (why). */
export type RegistryEntry = ToolRegistration | { invalid: string };

export type ToolResolution = { ok: true; spec: PipelineSpec } | { ok: false; issues: ValidationIssue[] };

/**
 * Every tool a pipeline names, each with the paths that name it: the keys of `tools`, and the tools of
 * its agent steps (a map's agent item step too). A sub-pipeline's tools are its own (see toolsNamedDeep).
 */
export function toolsNamedBy(spec: PipelineSpec, prefix: readonly PropertyKey[] = []): Map<string, string[]> {
  const named = new Map<string, string[]>();
  const add = (name: string, path: PropertyKey[]) => named.set(name, [...(named.get(name) ?? []), formatPath([...prefix, ...path])]);
  for (const name of Object.keys(spec.tools)) add(name, ['tools', name]);
  spec.steps.forEach((s, i) => {
    if (s.kind === 'agent') s.tools.forEach((t, j) => add(t, ['steps', i, 'tools', j]));
    if (s.kind === 'map' && s.step.kind === 'agent') s.step.tools.forEach((t, j) => add(t, ['steps', i, 'step', 'tools', j]));
  });
  return named;
}

/** How deep sub-pipelines are followed for their tools (checkPipeline refuses deeper nesting). */
const MAX_DEPTH = 3;

/** A `pipeline` step's child spec, parsed, with where it is (undefined when it is not a valid spec: checkPipeline says why). */
function children(spec: PipelineSpec, prefix: readonly PropertyKey[]): { spec: PipelineSpec; prefix: PropertyKey[] }[] {
  return spec.steps.flatMap((s, i) => {
    if (s.kind !== 'pipeline') return [];
    const parsed = PipelineSpec.safeParse(s.pipeline);
    return parsed.success ? [{ spec: parsed.data, prefix: [...prefix, 'steps', i, 'pipeline'] }] : [];
  });
}

/** The names of every tool a pipeline and its sub-pipelines name: what submit reads from the registry. */
export function toolsNamedDeep(spec: PipelineSpec, depth = 0): Set<string> {
  const names = new Set(toolsNamedBy(spec).keys());
  if (depth < MAX_DEPTH) for (const c of children(spec, [])) for (const n of toolsNamedDeep(c.spec, depth + 1)) names.add(n);
  return names;
}

/**
 * A run's pipeline as it compares with a request: the run keeps its tools resolved (descriptions and
 * schemas from the registry), so each tool shows only the fields the request gives, and tools the
 * request does not declare are left out; a resolved field is then never taken for a difference. Pure.
 */
export function asSubmitted(kept: PipelineSpec, asked: PipelineSpec): Record<string, unknown> {
  const tools = Object.entries(asked.tools).flatMap(([name, decl]) => {
    const own = Object.hasOwn(kept.tools, name) ? (kept.tools[name] as Record<string, unknown>) : undefined;
    return own ? [[name, Object.fromEntries(Object.keys(decl).map((k) => [k, own[k]]))] as const] : [];
  });
  return { ...kept, tools: Object.fromEntries(tools) };
}

/**
 * Resolves a pipeline's tools against the registry (`entries`: the registered tools among those it
 * names). A tool the pipeline gives no schema for takes its description and schema from the
 * registration, and is refused when nobody registered it. A schema the pipeline gives must be the
 * registered one (same digest); a tool with a schema and no registration is a tool outside the registry,
 * taken as declared (it needs a description then). The result holds every tool it names, resolved, so
 * a run never depends on the registry after submit. A sub-pipeline's tools are checked the same way
 * (so a tool nobody registered is refused at the parent's submit, at its path in the child), but the
 * child spec is kept as given: the child run resolves its own tools when it is submitted. Pure.
 */
export function resolveTools(spec: PipelineSpec, entries: ReadonlyMap<string, RegistryEntry>, prefix: readonly PropertyKey[] = [], depth = 0): ToolResolution {
  const issues: ValidationIssue[] = [];
  if (depth < MAX_DEPTH)
    for (const c of children(spec, prefix)) {
      const child = resolveTools(c.spec, entries, c.prefix, depth + 1);
      if (!child.ok) issues.push(...child.issues);
    }
  // Entries, made an object at the end: Object.fromEntries defines own properties, whatever the name.
  const resolved: [string, ResolvedTool][] = [];
  const at = (...p: PropertyKey[]) => formatPath([...prefix, ...p]);
  for (const [name, paths] of toolsNamedBy(spec, prefix)) {
    const decl: ToolDecl | undefined = Object.hasOwn(spec.tools, name) ? spec.tools[name] : undefined;
    const entry = entries.get(name);
    const reg = entry && !('invalid' in entry) ? entry : undefined;
    const broken = entry && 'invalid' in entry ? ` (its registry entry is invalid: ${entry.invalid})` : '';
    if (decl?.input === undefined) {
      if (!reg) {
        const message = `tool "${name}" is not registered (no running tool has registered under this name${broken}) and the pipeline does not give its schema`;
        for (const path of decl ? [at('tools', name)] : paths) issues.push({ path, message });
        continue;
      }
      resolved.push([name, { ...decl, description: decl?.description ?? reg.description, input: reg.input }]);
      continue;
    }
    if (reg && toolInputDigest(decl.input) !== toolInputDigest(reg.input)) {
      issues.push({
        path: at('tools', name, 'input'),
        message: `differs from the input schema tool "${name}" registered (version ${reg.version}, registered at ${reg.registeredAt}): leave input out to use the registered schema, or give that one`,
      });
      continue;
    }
    const description = decl.description ?? reg?.description;
    if (description === undefined) {
      issues.push({ path: at('tools', name, 'description'), message: `tool "${name}" is not registered${broken}, so the pipeline must describe it for the model` });
      continue;
    }
    resolved.push([name, { ...decl, description, input: decl.input }]);
  }
  return issues.length > 0 ? { ok: false, issues } : { ok: true, spec: { ...spec, tools: Object.fromEntries(resolved) } };
}
