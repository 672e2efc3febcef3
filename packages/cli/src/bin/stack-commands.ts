import type { Command } from 'commander';
import { loadCliConfig } from '../config.js';
import { openBus } from '../connect.js';
import { submitRun } from '../commands/submit.js';
import { watchRun } from '../commands/watch.js';
import { readInput, readPipelineFile } from '../pipeline-file.js';
import { renderEvent } from '../render.js';
import { LocalStack, REPO_ROOT } from '../stack/local-stack.js';

const DEMO_PIPELINE = `${REPO_ROOT}examples/pipelines/research-brief.yaml`;
const DEMO_INPUT = '{"topic":"how tides work","audience":"curious teenagers"}';

/** `demo` (start everything, run one pipeline, stop) and `dev` (start everything and stay up). */
export function registerStackCommands(program: Command): void {
  program
    .command('demo')
    .description('start nats-server, the model simulator and all four services, run an example pipeline, stop')
    .option('--pipeline <file>', 'pipeline to run', DEMO_PIPELINE)
    .option('-i, --input <json|@file>', 'run input', DEMO_INPUT)
    .option('--verbose', 'print every service log line')
    .action(async (o: { pipeline: string; input: string; verbose?: boolean }) => {
      const logDir = `${REPO_ROOT}.pw/demo-logs`;
      console.log('starting nats-server, llm-sim, planner, executor, budget, approver …');
      const stack = await LocalStack.start({ ...(o.verbose ? { echo: true } : {}), logDir });
      try {
        console.log(`stack up: NATS ${stack.natsUrl}, simulator ${stack.sim.openaiBaseUrl} (service logs in ${logDir})`);
        // As a client: it may submit, cancel and read events, nothing more (docs/security.md).
        const bus = await openBus(loadCliConfig(stack.clientEnv('client')));
        try {
          const runId = await submitRun(bus.js, readPipelineFile(o.pipeline), readInput(o.input));
          console.log(`submitted run ${runId}`);
          const end = await watchRun(bus.js, runId, (e) => console.log(renderEvent(e)), { timeoutMs: 60_000 });
          process.exitCode = end.type === 'run.finished' && end.status === 'succeeded' ? 0 : 1;
        } finally {
          await bus.close();
        }
      } finally {
        console.log('stopping the stack …');
        await stack.stop();
      }
    });

  program
    .command('dev')
    .description('start the local stack and keep it running until Ctrl-C')
    .option('--executors <n>', 'executor replicas', '1')
    .option('--verbose', 'print every service log line')
    .action(async (o: { executors: string; verbose?: boolean }) => {
      const stack = await LocalStack.start({ executors: Number(o.executors), ...(o.verbose ? { echo: true } : {}), logDir: `${REPO_ROOT}.pw/dev-logs` });
      const approver = stack.approverPort !== undefined ? `http://127.0.0.1:${stack.approverPort}` : undefined;
      const token = approver && stack.approverToken ? stack.approverToken : undefined;
      const approvals = token ? `\n  export PW_APPROVER_URL=${approver} PW_APPROVER_TOKEN=${token}   # for pipewright approvals` : '';
      const inbox = token ? `\napproval inbox: ${approver}/inbox (sign in with the token above)` : '';
      const client = stack.clientEnv('client');
      const nkey = client['NATS_NKEY_SEED_FILE'] ? ` NATS_NKEY_SEED_FILE=${client['NATS_NKEY_SEED_FILE']}` : '';
      const admin = stack.auth ? `\n  # operator commands (runs list/show): NATS_NKEY_SEED_FILE=${stack.auth.seedFile('admin')}` : '';
      console.log(`stack up. In another shell:\n  export NATS_URL=${stack.natsUrl}${nkey}${approvals}${admin}\n  pipewright submit examples/pipelines/research-brief.yaml --input '${DEMO_INPUT}' --watch${inbox}`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      console.log('stopping the stack …');
      await stack.stop();
    });
}
