#!/usr/bin/env node
import { appendFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { approvalResume } from './approval-resume.js';
import { checkpointBench } from './checkpoint.js';
import { clusterRecoveryBench } from './cluster-recovery.js';
import { durableThroughput } from './durable-throughput.js';
import { mapBench } from './map.js';
import { mongoCasProbe } from './mongo-cas-probe.js';
import { recoveryBench } from './recovery.js';
import { runsListBench } from './runs-list.js';
import { resilienceOverhead } from './resilience-overhead.js';
import { budgetBench } from './budget.js';
import { watchLoopDelay } from './lib/loop-delay.js';
import { stateGrowth } from './state-growth.js';
import { stepOverhead } from './step-overhead.js';
import { tokenizerBench } from './tokenizer.js';

type Bench = (args: { steps: number; profile: string; store: string }) => Promise<Record<string, unknown>>;
const BENCHES: Record<string, Bench> = { 'step-overhead': stepOverhead, 'approval-resume': approvalResume, checkpoint: checkpointBench, 'resilience-overhead': resilienceOverhead, budget: budgetBench, recovery: recoveryBench, 'durable-throughput': durableThroughput, 'state-growth': stateGrowth, tokenizer: tokenizerBench, 'mongo-cas': mongoCasProbe, 'cluster-recovery': clusterRecoveryBench, 'runs-list': runsListBench, map: mapBench };

const { positionals, values } = parseArgs({ allowPositionals: true, options: { steps: { type: 'string', default: '2000' }, profile: { type: 'string', default: 'default' }, store: { type: 'string', default: 'kv' } } });
const name = positionals[0] ?? '';
const bench = BENCHES[name];
if (!bench) {
  console.error(`unknown benchmark "${name}"; known: ${Object.keys(BENCHES).join(', ')}`);
  process.exit(2);
}
// Every benchmark reports how late this process's event loop ran while it ran (see docs/operations.md).
const loop = watchLoopDelay();
const figures = await bench({ steps: Number(values.steps), profile: values.profile, store: values.store });
const result = { ...figures, loopDelay: loop.stop(), at: new Date().toISOString(), node: process.version };
const dir = fileURLToPath(new URL('../results/', import.meta.url));
mkdirSync(dir, { recursive: true });
appendFileSync(`${dir}${name}.jsonl`, `${JSON.stringify(result)}\n`);
console.log(JSON.stringify(result));
