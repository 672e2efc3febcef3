import type { Command } from 'commander';
import type { Ctx } from '../../cli/context.js';
import { registerBatch } from './batch.js';
import { registerCancel } from './cancel.js';
import { registerList } from './list.js';
import { registerRerun, registerResume } from './resume.js';
import { registerShow } from './show.js';
import { registerSignal } from './signal.js';

/** `pipewright runs list|show|cancel|resume|rerun|signal|batch`: over the console's runs API. */
export function registerRunsCommands(program: Command, ctx: Ctx): void {
  const runs = program.command('runs').description('list, inspect and operate runs through the console (PW_CONSOLE_URL, PW_CONSOLE_TOKEN)');
  registerList(runs, ctx);
  registerShow(runs, ctx);
  registerCancel(runs, ctx);
  registerResume(runs, ctx);
  registerRerun(runs, ctx);
  registerSignal(runs, ctx);
  registerBatch(runs, ctx);
}
