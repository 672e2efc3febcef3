import { readFileSync } from 'node:fs';
import { REPO_ROOT } from '@pipewright/cli';
import { checkPipeline, PipelineSpec } from '@pipewright/contracts';
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
    expect(spec.tools).toEqual({ lookup_order: {} });
    expect(spec.steps[3]).toMatchObject({ over: 'input.lines', concurrency: 2 });
    expect(spec.steps[4]).toMatchObject({ approval: { always: true } });
  });
});
