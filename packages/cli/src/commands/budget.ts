import type { NatsConnection } from '@nats-io/transport-node';
import { BudgetStatusReply, SCHEMA_VERSION, subjects, type BudgetScope, type BudgetStatus } from '@pipewright/contracts';
import type { Command } from 'commander';
import type { Ctx } from '../cli/context.js';
import { RefusedError, UnavailableError, UsageError } from '../cli/errors.js';
import { addBusOptions, configWith, jsonOption, type ConnectionFlags } from '../cli/options.js';
import { loadCliConfig, type CliConfig } from '../config.js';
import { withBus } from '../connect.js';

/** How long `budget status` waits for the budget service. */
export const BUDGET_STATUS_TIMEOUT_MS = 5_000;

/** `pipewright budget status --run <id> | --pipeline <name> | --tenant <tenant>`: use against limits. */
export function registerBudgetCommands(program: Command, ctx: Ctx): void {
  const budget = program.command('budget').description('token and cost budgets (the budget service, over NATS)');
  const status = budget
    .command('status')
    .description('what a run, a pipeline or a tenant has spent and holds, against its limits')
    .option('--run <id>', 'a run: all it spent, and its own limits')
    .option('--pipeline <name>', "a pipeline: spend over its rolling window (e.g. the last 24 h), and the configured limits")
    .option('--tenant <tenant>', "a tenant: spend over its rolling window, and the configured limits")
    .addOption(jsonOption());
  addBusOptions(status).action(async (o: BudgetStatusOptions & ConnectionFlags) => {
    ctx.print(await runBudgetStatus(o, configWith(ctx.env, o)));
  });
}

export interface BudgetStatusOptions {
  run?: string;
  pipeline?: string;
  tenant?: string;
  json?: boolean;
}

/** The `budget status` command: connects, asks, and returns what to print. */
export async function runBudgetStatus(o: BudgetStatusOptions, cfg: CliConfig = loadCliConfig()): Promise<string> {
  const chosen = (['run', 'pipeline', 'tenant'] as const).flatMap((scope) => (o[scope] !== undefined ? [{ scope, id: o[scope] }] : []));
  if (chosen.length !== 1) throw new UsageError('give exactly one of --run <id>, --pipeline <name> or --tenant <tenant>');
  const { scope, id } = chosen[0]!;
  return withBus(cfg, async (bus) => {
    const status = await budgetStatus(bus.nc, scope, id);
    return o.json ? JSON.stringify(status, null, 2) : renderBudgetStatus(status);
  });
}

/** Asks the budget service; throws with a message for people when it cannot answer. */
export async function budgetStatus(nc: NatsConnection, scope: BudgetScope, id: string, timeoutMs = BUDGET_STATUS_TIMEOUT_MS): Promise<BudgetStatus> {
  let raw: unknown;
  try {
    raw = (await nc.request(subjects.budget.status, JSON.stringify({ schemaVersion: SCHEMA_VERSION, scope, id }), { timeout: timeoutMs })).json();
  } catch (err) {
    throw new UnavailableError(`no answer from the budget service on ${subjects.budget.status} (is it running?): ${err instanceof Error ? err.message : String(err)}`);
  }
  const parsed = BudgetStatusReply.safeParse(raw);
  if (!parsed.success) throw new UnavailableError(`the budget service's answer is not what this CLI expects: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  const reply = parsed.data;
  if (reply.outcome === 'error') throw new RefusedError('bad_request', `budget service: ${reply.error.path ? `${reply.error.path}: ` : ''}${reply.error.message}`);
  return reply;
}

const usd = (x: number) => `$${x.toFixed(6).replace(/0{1,4}$/, '')}`;
const int = (x: number) => x.toLocaleString('en-US');
const pct = (used: number, limit: number) => `${((used / limit) * 100).toFixed(1)} %`;

/** Spend, holds and limits as lines for a terminal. */
export function renderBudgetStatus(s: BudgetStatus): string {
  const span = s.scope === 'run' ? 'all time' : `last ${s.windowHours ?? 24} h`;
  const lines = [`${s.scope} ${s.id}  (${span}, as of ${s.at})`];
  const usedUsd = s.committedUsd + s.reservedUsd;
  lines.push(
    `  USD     ${usd(s.committedUsd)} spent + ${usd(s.reservedUsd)} reserved = ${usd(usedUsd)}` +
      (s.limitUsd !== undefined ? ` of ${usd(s.limitUsd)} (${pct(usedUsd, s.limitUsd)}), ${usd(Math.max(0, s.limitUsd - usedUsd))} left` : '  (no USD limit)'),
  );
  const usedTokens = s.committedTokens + s.reservedTokens;
  lines.push(
    `  tokens  ${int(s.committedTokens)} spent + ${int(s.reservedTokens)} reserved = ${int(usedTokens)}` +
      (s.limitTokens !== undefined ? ` of ${int(s.limitTokens)} (${pct(usedTokens, s.limitTokens)}), ${int(Math.max(0, s.limitTokens - usedTokens))} left` : '  (no token limit)'),
  );
  lines.push(`  calls   ${int(s.calls)} committed, ${int(s.openReservations)} reservation${s.openReservations === 1 ? '' : 's'} open`);
  return lines.join('\n');
}
