import { checkPipeline, type PipelineCheck, type PipelineSpecInput, type ToolDecl } from '@pipewright/contracts';
import { stringify } from 'yaml';
import type { z } from 'zod';
import { condition, defined, inputField, itemScope, modelBody, path, resolve, rootScope } from './emit.js';
import { PipelineSpecError } from './errors.js';
import { inferNeeds } from './needs.js';
import { jsonSchemaOf, toolSchemaOf } from './schema.js';
import type { StepSpec } from './step-spec.js';
import type { AgentDef, ChildPipeline, EndDef, InputOf, LlmDef, MapDef, Outputs, OutputOf, OutputSchema, PipelineOptions, Scope, SignalDef, SignalOutput, StepHead, SubPipelineDef, ToolDefinition, ToolOptions } from './types.js';

/** A step id not used yet (a second step with an id already defined does not compile). */
type NewId<Id extends string, S extends Outputs> = Id extends keyof S ? never : Id;
/** The outputs known after adding step `Id` with output `O`. */
type With<S extends Outputs, Id extends string, O> = S & { [K in Id]: O };

interface State {
  name: string;
  head: Omit<PipelineSpecInput, 'name' | 'steps' | 'tools' | 'output'>;
  tools: Record<string, ToolDecl>;
  steps: readonly StepSpec[];
  output?: string;
}

/**
 * A pipeline being written in code. Each step method returns a new builder that knows the step's output
 * type, so later steps' references (`steps.<id>.output.<field>`) are checked by the compiler. `toSpec()`
 * compiles it to the pipeline spec the planner runs (checked by the contracts' `checkPipeline`);
 * `toYaml()` writes that spec as YAML.
 *
 * Type parameters: `I` the run input, `S` step id → output, `T` the tool names declared, `Last` the
 * last step's output and `Ends` the results of `end` steps (the run's output is `Last | Ends`).
 */
export class Pipeline<I = Record<string, unknown>, S extends Outputs = Record<never, never>, T extends string = never, Last = undefined, Ends = never> implements ChildPipeline<I, Last | Ends> {
  /** The run input's and the run output's types, for the compiler only (no value at run time). */
  declare readonly types?: { readonly input: I; readonly output: Last | Ends };

  /** @internal use `pipeline(name, options)` */
  constructor(private readonly state: State) {}

  get name(): string {
    return this.state.name;
  }

  /**
   * Declares a tool the agents may call: by name alone (a tool that registers itself: the planner
   * reads its description and schema from the registry at submit), with its declaration, or from the
   * tool's definition (what `serveTool` takes), so its schema is written once.
   */
  tool<N extends string>(name: N, options?: ToolOptions): Pipeline<I, S, T | N, Last, Ends>;
  tool<N extends string>(definition: ToolDefinition<N>, options?: Omit<ToolOptions, 'input' | 'description'>): Pipeline<I, S, T | N, Last, Ends>;
  tool(nameOrDef: string | ToolDefinition, options: ToolOptions = {}): Pipeline<I, S, string, Last, Ends> {
    const decl: ToolDecl =
      typeof nameOrDef === 'string' ? structuredClone(options) : { description: nameOrDef.description, input: toolSchemaOf(nameOrDef.input), ...structuredClone(options) };
    const name = typeof nameOrDef === 'string' ? nameOrDef : nameOrDef.name;
    return new Pipeline({ ...this.state, tools: { ...this.state.tools, [name]: decl } });
  }

  /** An `llm` step: a prompt sent to a model; with `output` (a zod schema) the answer is that structure. */
  llm<Id extends string, O extends OutputSchema = undefined>(id: NewId<Id, S>, def: LlmDef<I, S, T, O>): Pipeline<I, With<S, Id, OutputOf<O>>, T, OutputOf<O>, Ends> {
    const { description, needs, when, ...body } = def;
    return this.add({ id, description, when: condition(when, this.scope), ...modelBody({ ...body, kind: 'llm' }, this.scope, id) } as StepSpec, needs);
  }

  /** An `agent` step: the model calls the named tools until it answers. */
  agent<Id extends string, O extends OutputSchema = undefined>(id: NewId<Id, S>, def: AgentDef<I, S, T, O>): Pipeline<I, With<S, Id, OutputOf<O>>, T, OutputOf<O>, Ends> {
    const { description, needs, when, ...body } = def;
    return this.add({ id, description, when: condition(when, this.scope), ...modelBody({ ...body, kind: 'agent' }, this.scope, id) } as StepSpec, needs);
  }

  /** A `map` step: runs `step` once per item of the list at `over`; its output is the items' outputs, in order. */
  map<Id extends string, E, O extends OutputSchema = undefined>(id: NewId<Id, S>, def: MapDef<I, S, T, E, O>): Pipeline<I, With<S, Id, OutputOf<O>[]>, T, OutputOf<O>[], Ends> {
    const { description, needs, when, over, step, ...rest } = def;
    return this.add(
      { id, kind: 'map', description, when: condition(when, this.scope), over: path(resolve(over, this.scope), `${id}.over`), ...structuredClone(rest), step: modelBody(step, itemScope as never, `${id}.step`) },
      needs,
    );
  }

  /** A `signal` step: waits for a named signal sent to the run; its output is the signal's payload. */
  signal<Id extends string, O extends OutputSchema = undefined, C extends 'fail' | 'continue' = 'fail'>(id: NewId<Id, S>, def: SignalDef<I, S, O, C> = {}): Pipeline<I, With<S, Id, SignalOutput<O, C>>, T, SignalOutput<O, C>, Ends> {
    const { description, needs, when, output, ...rest } = def;
    return this.add({ id, kind: 'signal', description, when: condition(when, this.scope), ...structuredClone(rest), output: output === undefined ? undefined : jsonSchemaOf(output, 'output') }, needs);
  }

  /** An `end` step: when it runs (its `when:` holds), the run ends at once, with `result` as its output. */
  end<Id extends string, R = never>(id: NewId<Id, S>, def: EndDef<I, S, R>): Pipeline<I, S, T, Last, Ends | R> {
    const { description, needs, when, result, ...rest } = def;
    return this.add({ id, kind: 'end', description, when: condition(when, this.scope), ...rest, result: result === undefined ? undefined : path(resolve(result, this.scope), `${id}.result`) }, needs);
  }

  /** A `pipeline` step: runs another pipeline as a child run; its output is the child's. */
  pipeline<Id extends string, CI, CO>(id: NewId<Id, S>, def: SubPipelineDef<I, S, CI, CO>): Pipeline<I, With<S, Id, CO>, T, CO, Ends> {
    const { description, needs, when, pipeline, input, budget } = def;
    const fields = input === undefined ? undefined : Object.fromEntries(Object.entries(resolve(input, this.scope) as Record<string, unknown>).map(([k, v]) => [k, inputField(v, `${id}.input.${k}`)]));
    return this.add({ id, kind: 'pipeline', description, when: condition(when, this.scope), pipeline: pipeline.toSpec() as Record<string, unknown>, input: fields, budget: budget && structuredClone(budget) }, needs);
  }

  /** Makes step `id`'s output the run's output (by default the last step's). */
  output<Id extends keyof S & string>(id: Id): Pipeline<I, S, T, S[Id], Ends> {
    return new Pipeline({ ...this.state, output: id });
  }

  /** Checks the spec with the contracts' `checkPipeline` (issues by path) without throwing. */
  check(): PipelineCheck {
    return checkPipeline(this.raw());
  }

  /** The pipeline spec (the contracts' input form, defaults left out). Throws PipelineSpecError when the check refuses it. */
  toSpec(): PipelineSpecInput {
    const spec = this.raw();
    const checked = checkPipeline(spec);
    if (!checked.ok) throw new PipelineSpecError(this.state.name, checked.issues);
    return spec;
  }

  /** The spec as YAML, the format `pipewright submit` reads; `header` becomes a leading comment. */
  toYaml(options: { header?: string } = {}): string {
    const doc = stringify(this.toSpec(), { lineWidth: 0 });
    return options.header ? `${options.header.split('\n').map((l) => `# ${l}`.trimEnd()).join('\n')}\n${doc}` : doc;
  }

  private get scope(): Scope<I, S> {
    return rootScope as unknown as Scope<I, S>;
  }

  private raw(): PipelineSpecInput {
    const { name, head, tools, steps, output } = this.state;
    const { version, description, input, defaults, limits, budget } = structuredClone(head);
    return defined({ name, version, description, input, defaults, limits, budget, tools: Object.keys(tools).length > 0 ? structuredClone(tools) : undefined, output, steps: structuredClone(steps) as PipelineSpecInput['steps'] });
  }

  private add<P>(step: StepSpec, explicit: StepHead<unknown, S>['needs']): P {
    const clean = defined(step as Record<string, unknown>) as StepSpec;
    const needs = inferNeeds(clean, explicit ?? []);
    // the fields every step has first, in the order the docs write them
    const { id, kind, description, when, ...body } = clean;
    const ordered = defined({ id, kind, description, needs: needs.length > 0 ? needs : undefined, when, ...body }) as StepSpec;
    return new Pipeline({ ...this.state, steps: [...this.state.steps, ordered] }) as P;
  }
}

/** Starts a pipeline: its name and the pipeline-wide fields (input schema, defaults, limits, budget). */
export function pipeline<In extends z.ZodType | undefined = undefined>(name: string, options: PipelineOptions<In> = {}): Pipeline<InputOf<In>> {
  const { input, ...rest } = options;
  const head = defined({ ...structuredClone(rest), input: input === undefined ? undefined : jsonSchemaOf(input, 'input') }) as State['head'];
  return new Pipeline({ name, head, tools: {}, steps: [] });
}
