#!/usr/bin/env node
import { Command, Option } from 'commander';
import { RunStatus } from '@pipewright/contracts';
import { loadCliConfig } from '../config.js';
import { openBus } from '../connect.js';
import { cancelByLabels, cancelRun, parseLabel } from '../commands/cancel.js';
import { listRuns, showRun } from '../commands/runs.js';
import { submitRun } from '../commands/submit.js';
import { watchRun } from '../commands/watch.js';
import { readInput, readPipelineFile } from '../pipeline-file.js';
import { renderEvent } from '../render.js';
import { registerStackCommands } from './stack-commands.js';
import { registerApprovalCommands } from '../commands/approvals.js';
import { registerBudgetCommands } from '../commands/budget.js';
import { registerNatsAuthCommand } from '../commands/nats-auth.js';

const program = new Command('pipewright').description('Run and watch AI-agent pipelines on NATS JetStream').showHelpAfterError();

program
  .command('submit')
  .description('submit a run of a pipeline (YAML or JSON)')
  .argument('<pipeline>', 'pipeline file')
  .option('-i, --input <json|@file>', 'run input: inline JSON or @file.json')
  .option('--run-id <id>', 'run id (makes the submission idempotent)')
  .option('--tenant <tenant>', 'tenant the run belongs to')
  .option('-w, --watch', 'watch the run until it finishes; exit code 1 unless it succeeds')
  .action(async (file: string, o: { input?: string; runId?: string; tenant?: string; watch?: boolean }) => {
    const bus = await openBus(loadCliConfig());
    try {
      const runId = await submitRun(bus.js, readPipelineFile(file), readInput(o.input), { ...(o.runId ? { runId: o.runId } : {}), ...(o.tenant ? { tenant: o.tenant } : {}) });
      console.log(`submitted run ${runId}`);
      if (o.watch) {
        const end = await watchRun(bus.js, runId, (e) => console.log(renderEvent(e)));
        process.exitCode = end.type === 'run.finished' && end.status === 'succeeded' ? 0 : 1;
      }
    } finally {
      await bus.close();
    }
  });

program
  .command('watch')
  .description('show the progress of a run (from its start) until it finishes')
  .argument('<runId>')
  .action(async (runId: string) => {
    const bus = await openBus(loadCliConfig());
    try {
      const end = await watchRun(bus.js, runId, (e) => console.log(renderEvent(e)));
      process.exitCode = end.type === 'run.finished' && end.status === 'succeeded' ? 0 : 1;
    } finally {
      await bus.close();
    }
  });

const runs = program.command('runs').description('list and inspect runs (in the store PW_STORE names)');
runs
  .command('list')
  .addOption(new Option('--status <status>').choices(RunStatus.options))
  .option('--pipeline <name>')
  .option('--limit <n>', 'most runs shown', '50')
  .action(async (o: { status?: RunStatus; pipeline?: string; limit: string }) => {
    const cfg = loadCliConfig();
    const bus = await openBus(cfg);
    try {
      console.log(await listRuns(cfg, bus.nc, { ...(o.status ? { status: o.status } : {}), ...(o.pipeline ? { pipeline: o.pipeline } : {}), limit: Number(o.limit) }));
    } finally {
      await bus.close();
    }
  });
runs
  .command('show')
  .argument('<runId>')
  .description('a run with its steps and its decision trail')
  .action(async (runId: string) => {
    const cfg = loadCliConfig();
    const bus = await openBus(cfg);
    try {
      console.log(await showRun(cfg, bus.nc, bus.js, runId));
    } finally {
      await bus.close();
    }
  });

runs
  .command('cancel')
  .argument('[runId]', 'the run to cancel')
  .option('--label <key=value...>', 'cancel every unfinished run that carries these labels (instead of one run)')
  .option('--reason <text>', 'why, recorded on the run', 'cancelled with the CLI')
  .description('cancel a run, or every unfinished run with the given labels: running calls are aborted, nothing new starts')
  .action(async (runId: string | undefined, o: { label?: string[]; reason: string }) => {
    if ((runId === undefined) === (o.label === undefined)) throw new Error('give a run id or --label key=value, not both');
    const cfg = loadCliConfig();
    const bus = await openBus(cfg);
    try {
      if (runId !== undefined) {
        await cancelRun(bus.js, runId, o.reason);
        console.log(`cancel of run ${runId} requested`);
        return;
      }
      const ids = await cancelByLabels(cfg, bus.nc, bus.js, Object.fromEntries((o.label ?? []).map(parseLabel)), o.reason);
      console.log(ids.length === 0 ? 'no unfinished run has these labels' : `cancel requested for ${ids.length} run(s):\n${ids.join('\n')}`);
    } finally {
      await bus.close();
    }
  });

registerStackCommands(program);
registerBudgetCommands(program);
registerNatsAuthCommand(program);
registerApprovalCommands(program, () => {
  const c = loadCliConfig();
  return { url: c.PW_APPROVER_URL, token: c.PW_APPROVER_TOKEN };
});

program.parseAsync().catch((err: unknown) => {
  console.error(`pipewright: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
