import { readFileSync } from 'node:fs';
import { REPO_ROOT } from '@pipewright/cli';
import { checkPipeline, PipelineSpec, renderTemplate, schemaValidator, type MapStep, type ModelStep } from '@pipewright/contracts';
import { loadSimConfig, type ScriptEntry } from '@pipewright/llm-sim';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { supportTriage } from '../../examples/sdk/src/support-triage.js';

const yamlFile = `${REPO_ROOT}examples/pipelines/support-triage.yaml`;

/**
 * The support-triage pipeline exists twice: written with the SDK (examples/sdk) and as YAML
 * (examples/pipelines). Both, parsed by the contracts, are the same spec, and both pass the check the
 * planner runs at submit.
 */
describe('support-triage: the SDK and the YAML file are one spec', () => {
  const fromSdk = supportTriage.toSpec();
  const fromYaml: unknown = parse(readFileSync(yamlFile, 'utf8'));

  it('parses to deep-equal specs', () => {
    expect(PipelineSpec.parse(fromSdk)).toStrictEqual(PipelineSpec.parse(fromYaml));
  });

  it('passes checkPipeline both ways', () => {
    for (const spec of [fromSdk, fromYaml]) {
      const checked = checkPipeline(spec);
      expect(checked.ok ? [] : checked.issues).toEqual([]);
    }
  });

  it('emits YAML that reads back as the same spec', () => {
    expect(PipelineSpec.parse(parse(supportTriage.toYaml()))).toStrictEqual(PipelineSpec.parse(fromYaml));
  });

  it('uses every part of the example: structured triage, an end, a self-registering tool, a bounded map, an approval', () => {
    const spec = PipelineSpec.parse(fromSdk);
    expect(spec.steps.map((s) => [s.id, s.kind])).toEqual([['triage', 'llm'], ['not-a-refund', 'end'], ['lookup', 'agent'], ['lines', 'map'], ['refund', 'llm']]);
    expect(spec.tools).toEqual({ 'lookup-order': {} });
    expect(spec.steps[3]).toMatchObject({ over: 'input.lines', concurrency: 2 });
    expect(spec.steps[4]).toMatchObject({ approval: { always: true } });
  });

  it('has a simulator script (examples/pipelines/sim.yaml) whose prompts match the rendered steps and whose answers fit their schemas', () => {
    const sim = loadSimConfig(`${REPO_ROOT}examples/pipelines/sim.yaml`);
    const spec = PipelineSpec.parse(fromSdk);
    const step = (id: string) => spec.steps.find((s) => s.id === id)!;
    const input = { ticket: { subject: 'Broken mug', body: 'One of the five mugs of order o-1002 arrived broken.', customer: 'alan@example.com' }, lines: [{ sku: 'mug', description: 'Stoneware mug', qty: 5, unitCents: 2500 }] };
    expect(schemaValidator.validate(spec.input!, input)).toEqual([]);
    const context: Record<string, unknown> = { input, steps: {} };
    const steps = context['steps'] as Record<string, { output: unknown }>;
    // each model step in run order: its prompt, rendered over what the run knows by then, picks a script
    // entry whose answer is valid against the step's output schema and becomes the step's output
    const answer = (model: ModelStep | MapStep['step'], rendered: string): unknown => {
      const entry = sim.scripts?.find((e: ScriptEntry) => e.match?.contains !== undefined && rendered.includes(e.match.contains));
      expect(entry, `a script entry for: ${rendered}`).toBeDefined();
      const reply = entry!.conversation ? entry!.conversation.at(-1) : entry!.reply;
      expect(reply?.json).toBeDefined();
      expect(schemaValidator.validate(model.output!, reply!.json)).toEqual([]);
      return reply!.json;
    };
    for (const id of ['triage', 'lookup'] as const) {
      const s = step(id) as ModelStep;
      steps[id] = { output: answer(s, renderTemplate(s.prompt, context)) };
    }
    expect(steps['triage']!.output).toMatchObject({ category: 'refund' }); // the end step does not hold: the run goes on
    const map = step('lines') as MapStep;
    steps['lines'] = { output: input.lines.map((item, index) => answer(map.step, renderTemplate(map.step.prompt, { ...context, item, index }))) };
    const refund = step('refund') as ModelStep;
    expect(answer(refund, renderTemplate(refund.prompt, context))).toMatchObject({ orderId: 'o-1002', cents: 2500 });
  });
});
