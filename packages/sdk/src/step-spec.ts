import type { AgentStep, EndStep, LlmStep, MapStep, SignalStep, SubPipelineStep } from '@pipewright/contracts';
import type { z } from 'zod';

// The steps the builder emits: the contracts' input forms (defaults left to the parser), kind always set.
export type LlmStepSpec = z.input<typeof LlmStep> & { kind: 'llm' };
export type AgentStepSpec = z.input<typeof AgentStep>;
export type MapStepSpec = Omit<z.input<typeof MapStep>, 'step'> & { step: Record<string, unknown> & { kind: 'llm' | 'agent'; prompt: string; system?: string } };
export type SignalStepSpec = z.input<typeof SignalStep>;
export type EndStepSpec = z.input<typeof EndStep>;
export type SubPipelineStepSpec = z.input<typeof SubPipelineStep>;
export type StepSpec = LlmStepSpec | AgentStepSpec | MapStepSpec | SignalStepSpec | EndStepSpec | SubPipelineStepSpec;
