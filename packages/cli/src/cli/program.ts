import type { Command } from 'commander';
import { registerStackCommands } from '../bin/stack-commands.js';
import { registerApprovalCommands } from '../commands/approvals.js';
import { registerBudgetCommands } from '../commands/budget.js';
import { registerWatchCommand } from '../commands/follow.js';
import { registerNatsAuthCommand } from '../commands/nats-auth.js';
import { registerRunsCommands } from '../commands/runs/index.js';
import { registerSubmitCommand } from '../commands/submit.js';
import { registerToolsCommands } from '../commands/tools.js';
import { loadCliConfig } from '../config.js';
import { Ctx } from './context.js';
import type { Io } from './io.js';
import { runProgram } from './program-runner.js';
import { cliVersion } from './version.js';

/** Every `pipewright` command. */
export function registerAll(program: Command, ctx: Ctx): void {
  program
    .description('Run, watch and operate AI-agent pipelines on NATS JetStream')
    .version(cliVersion(), '-V, --version', 'print the version of pipewright')
    .addHelpText(
      'after',
      `
Connection (flags override the variables; \`pipewright dev\` prints them for a local stack):
  NATS_URL, NATS_NKEY_SEED_FILE or NATS_CREDS   submit, watch, budget, tools, --watch (--nats-url, --nkey-seed-file, --creds)
  PW_CONSOLE_URL, PW_CONSOLE_TOKEN              runs list|show|cancel|resume|rerun|signal|batch (--console-url, --token)
  PW_APPROVER_URL, PW_APPROVER_TOKEN            approvals (--approver-url, --approver-token)
Colours only on a terminal; NO_COLOR turns them off, FORCE_COLOR on. Reference: docs/cli.md`,
    );
  registerSubmitCommand(program, ctx);
  registerWatchCommand(program, ctx);
  registerRunsCommands(program, ctx);
  registerApprovalCommands(program, ctx, () => {
    const c = loadCliConfig(ctx.env);
    return { url: c.PW_APPROVER_URL, token: c.PW_APPROVER_TOKEN };
  });
  registerBudgetCommands(program, ctx);
  registerToolsCommands(program, ctx);
  registerNatsAuthCommand(program, ctx);
  registerStackCommands(program, ctx.env);
}

/** Runs one `pipewright` command line; resolves with its exit code (docs/cli.md#exit-codes). */
export function runCli(argv: readonly string[], io: Io, env: Readonly<Record<string, string | undefined>>): Promise<number> {
  const ctx = new Ctx(io, env);
  return runProgram(argv, ctx, (program) => registerAll(program, ctx));
}
