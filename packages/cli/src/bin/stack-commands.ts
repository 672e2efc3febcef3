import type { Command } from 'commander';
import { loadCliConfig } from '../config.js';
import { openBus } from '../connect.js';
import { submitRun } from '../commands/submit.js';
import { watchRun } from '../commands/watch.js';
import { readInput, readPipelineFile } from '../pipeline-file.js';
import { renderEvent } from '../render.js';
import { LocalStack, REPO_ROOT } from '../stack/local-stack.js';
import { DEV_SERVICES } from '../stack/services.js';
import { readStackSettings } from '../stack/settings.js';

type Env = Readonly<Record<string, string | undefined>>;

const DEMO_PIPELINE = `${REPO_ROOT}examples/pipelines/research-brief.yaml`;
const DEMO_INPUT = '{"topic":"how tides work","audience":"curious teenagers"}';
/** The simulated model's scripts for the example pipelines, used when PW_SIM_CONFIG and --sim-config are unset. */
const EXAMPLES_SIM_CONFIG = `${REPO_ROOT}examples/pipelines/sim.yaml`;
const SIM_CONFIG_HELP = `the simulator's configuration (YAML/JSON; wins over PW_SIM_CONFIG; default ${EXAMPLES_SIM_CONFIG.slice(REPO_ROOT.length)})`;

/** The stack as the user's environment and flags configure it (docs/configuration.md). */
function startStack(env: Env, o: { simConfig?: string; verbose?: boolean; executors?: string }, logDir: string): Promise<LocalStack> {
  const settings = readStackSettings(env, { simConfigFlag: o.simConfig, defaultSimConfig: EXAMPLES_SIM_CONFIG });
  console.log(`simulator configuration: ${settings.simConfig ?? '(none)'}`);
  return LocalStack.start({
    services: DEV_SERVICES,
    env: settings.env,
    ...(o.executors !== undefined ? { executors: Number(o.executors) } : {}),
    ...(o.verbose ? { echo: true } : {}),
    logDir,
  });
}

/** `demo` (start everything, run one pipeline, stop) and `dev` (start everything and stay up). */
export function registerStackCommands(program: Command, env: Env): void {
  program
    .command('demo')
    .description('start nats-server, the model simulator, all five services and the example tools, run an example pipeline, stop')
    .option('--pipeline <file>', 'pipeline to run', DEMO_PIPELINE)
    .option('-i, --input <json|@file>', 'run input', DEMO_INPUT)
    .option('--sim-config <file>', SIM_CONFIG_HELP)
    .option('--verbose', 'print every service log line')
    .action(async (o: { pipeline: string; input: string; simConfig?: string; verbose?: boolean }) => {
      const logDir = `${REPO_ROOT}.pw/demo-logs`;
      console.log('starting nats-server, llm-sim, planner, executor, budget, approver, example tools …');
      const stack = await startStack(env, o, logDir);
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
    .description('start the local stack (the five services, the example tools, the model simulator) and keep it running until Ctrl-C')
    .option('--executors <n>', 'executor replicas', '1')
    .option('--sim-config <file>', SIM_CONFIG_HELP)
    .option('--verbose', 'print every service log line')
    .action(async (o: { executors: string; simConfig?: string; verbose?: boolean }) => {
      const stack = await startStack(env, o, `${REPO_ROOT}.pw/dev-logs`);
      console.log(devBanner(stack));
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      console.log('stopping the stack …');
      await stack.stop();
    });
}

/** What `dev` prints once the stack is up: how to reach it from another shell. */
function devBanner(stack: LocalStack): string {
  const approver = stack.approverPort !== undefined ? `http://127.0.0.1:${stack.approverPort}` : undefined;
  const token = stack.approverToken;
  const approvals = approver ? `\n  export PW_APPROVER_URL=${approver}${token ? ` PW_APPROVER_TOKEN=${token}` : ''}   # for pipewright approvals` : '';
  const inbox = approver ? `\napproval inbox: ${approver}/inbox (sign in with ${token ? 'the token above' : 'a token of PW_APPROVER_TOKENS'})` : '';
  const client = stack.clientEnv('client');
  const nkey = client['NATS_NKEY_SEED_FILE'] ? ` NATS_NKEY_SEED_FILE=${client['NATS_NKEY_SEED_FILE']}` : '';
  const consoleBase = stack.consolePort !== undefined ? `http://127.0.0.1:${stack.consolePort}` : undefined;
  const consoleToken = stack.consoleToken;
  const runsApi = consoleBase ? `\n  export PW_CONSOLE_URL=${consoleBase}${consoleToken ? ` PW_CONSOLE_TOKEN=${consoleToken}` : ''}   # for pipewright runs …` : '';
  const dashboard = consoleBase ? `\nruns dashboard: ${consoleBase}/ (sign in with ${consoleToken ? `the console token above; read-only: ${stack.consoleReadToken ?? ''}` : 'a token of PW_CONSOLE_TOKENS'})` : '';
  const admin = stack.auth ? `\n  # an operator's full access to the bus (the nats CLI, tests): NATS_NKEY_SEED_FILE=${stack.auth.seedFile('admin')}` : '';
  return (
    `stack up. In another shell:\n  export NATS_URL=${stack.natsUrl}${nkey}${approvals}${runsApi}${admin}\n` +
    `  pipewright submit examples/pipelines/research-brief.yaml --input '${DEMO_INPUT}' --watch\n` +
    `  pipewright submit examples/pipelines/refund-agent.yaml --input '{"message":"Order o-1002: one of the five mugs arrived broken."}' --watch` +
    `   # waits for your approval of the refund${dashboard}${inbox}`
  );
}
