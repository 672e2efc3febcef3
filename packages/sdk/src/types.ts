import type { AgentStep, ApprovalPolicy, BudgetPolicy, Condition, LlmStep, MapStep, PipelineDefaults, RunBudget, RunLimits, SignalStep, ToolDecl } from '@pipewright/contracts';
import type { z } from 'zod';
import type { Ref, RefBase } from './ref.js';

/** Step id → the type of its output, as the builder has learnt them so far. */
export type Outputs = Record<string, unknown>;

/** What a step's fields may reference: the run input and the outputs of the steps defined before it. */
export interface Scope<I, S extends Outputs> {
  readonly input: Ref<I>;
  readonly steps: { readonly [K in keyof S & string]: { readonly output: Ref<S[K]> } };
}

/** Inside a map's `step`: also the item (`item`, `item.<field>`) and its position (`index`). */
export interface ItemScope<I, S extends Outputs, E> extends Scope<I, S> {
  readonly item: Ref<E>;
  readonly index: Ref<number>;
}

/** A field given as it is, or computed from the scope's typed references. */
export type Field<C, V> = V | ((scope: C) => V);

/** A step's output schema: a zod schema, or none (the output is the model's text). */
export type OutputSchema = z.ZodType | undefined;
/** The type of a model step's output: what its schema parses to, else text. */
export type OutputOf<O> = O extends z.ZodType ? z.output<O> : string;

/** An approval policy whose `tools` are names of the pipeline's tools. */
export type Approval<T extends string> = Omit<z.input<typeof ApprovalPolicy>, 'tools'> & { tools?: readonly T[] };

type LlmInput = z.input<typeof LlmStep>;
type AgentInput = z.input<typeof AgentStep>;
type Managed = 'id' | 'kind' | 'needs' | 'when' | 'prompt' | 'system' | 'output' | 'description' | 'approval' | 'tools';

/** What every step may have: a description, explicit needs (more are inferred from references), a condition. */
export interface StepHead<C, S extends Outputs> {
  description?: string;
  /** Steps this one waits for besides those its references name. */
  needs?: readonly (keyof S & string)[];
  /** Runs the step only when this holds; otherwise it is skipped (and so is every step needing it). */
  when?: Field<C, Condition>;
}

/** The model fields of an llm step (a map's item step too). */
export type LlmBody<C, T extends string, O extends OutputSchema> = Omit<LlmInput, Managed> & {
  /** System message template. */
  system?: Field<C, string>;
  /** User message template: use `tpl` to interpolate typed references. */
  prompt: Field<C, string>;
  /** The answer's schema; the step's output then has its type. Without it the output is text. */
  output?: O;
  approval?: Approval<T> | false;
};

/** The fields of an agent step: the tools it may call, by the names the pipeline declares. */
export type AgentBody<C, T extends string, O extends OutputSchema> = Omit<AgentInput, Managed> & {
  system?: Field<C, string>;
  prompt: Field<C, string>;
  tools: readonly T[];
  output?: O;
  approval?: Approval<T> | false;
};

export type LlmDef<I, S extends Outputs, T extends string, O extends OutputSchema> = StepHead<Scope<I, S>, S> & LlmBody<Scope<I, S>, T, O>;
export type AgentDef<I, S extends Outputs, T extends string, O extends OutputSchema> = StepHead<Scope<I, S>, S> & AgentBody<Scope<I, S>, T, O>;

/** What a map runs per item: an llm step (the default) or an agent, over the item scope. */
export type MapItemDef<C, T extends string, O extends OutputSchema> = (LlmBody<C, T, O> & { kind?: 'llm' }) | (AgentBody<C, T, O> & { kind: 'agent' });

export type MapDef<I, S extends Outputs, T extends string, E, O extends OutputSchema> = StepHead<Scope<I, S>, S> &
  Omit<z.input<typeof MapStep>, 'id' | 'kind' | 'needs' | 'when' | 'description' | 'over' | 'step'> & {
    /** The list to map over: a reference to an array in the input or an earlier output. */
    over: (scope: Scope<I, S>) => RefBase<readonly E[]>;
    step: MapItemDef<ItemScope<I, S, E>, T, O>;
  };

export type SignalDef<I, S extends Outputs, O extends OutputSchema, C extends 'fail' | 'continue'> = StepHead<Scope<I, S>, S> &
  Omit<z.input<typeof SignalStep>, 'id' | 'kind' | 'needs' | 'when' | 'description' | 'output' | 'onTimeout'> & {
    /** The payload's schema; the step's output then has its type (else `unknown`). */
    output?: O;
    /** At the timeout: fail the run, or go on with a `null` output. @default "fail" */
    onTimeout?: C;
  };
/** A signal step's output: the payload (`null` after a timeout with `onTimeout: continue`). */
export type SignalOutput<O, C> = (O extends z.ZodType ? z.output<O> : unknown) | (C extends 'continue' ? null : never);

export type EndDef<I, S extends Outputs, R> = StepHead<Scope<I, S>, S> & {
  status?: 'succeeded' | 'failed';
  /** The run's output when this step ends it. */
  result?: (scope: Scope<I, S>) => RefBase<R>;
  reason?: string;
};

/** What the builder needs of a child pipeline: its spec, and (for the compiler) its input and output types. */
export interface ChildPipeline<CI, CO> {
  readonly types?: { readonly input: CI; readonly output: CO };
  toSpec(): object;
}

/** A child's input: each field a reference of the field's type, or (for a string field) a template. */
export type ChildInput<CI> = { [K in keyof CI]: RefBase<CI[K]> | (CI[K] extends string ? string : never) };

export type SubPipelineDef<I, S extends Outputs, CI, CO> = StepHead<Scope<I, S>, S> & {
  pipeline: ChildPipeline<CI, CO>;
  input?: Field<Scope<I, S>, ChildInput<CI>>;
  budget?: z.input<typeof RunBudget>;
};

/** The pipeline-wide fields. */
export interface PipelineOptions<In extends z.ZodType | undefined> {
  version?: string;
  description?: string;
  /** The run input's schema; `input.…` references get its type. */
  input?: In;
  defaults?: Omit<z.input<typeof PipelineDefaults>, 'approval'> & { approval?: Approval<string> | false };
  limits?: z.input<typeof RunLimits>;
  budget?: z.input<typeof BudgetPolicy>;
}

/** A run input's type: what the input schema accepts, else any object. */
export type InputOf<In> = In extends z.ZodType ? z.input<In> : Record<string, unknown>;

/** A tool as `serveTool` (@pipewright/tools) takes it: the pipeline's declaration is read from it. */
export interface ToolDefinition<N extends string = string> {
  name: N;
  description: string;
  input: z.ZodType | Record<string, unknown>;
}

/** A tool declaration's own fields (contracts' ToolDecl). */
export type ToolOptions = ToolDecl;
