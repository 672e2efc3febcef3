import type { ToolList } from '@pipewright/contracts';
import { errorMessage, ToolRegistry } from '@pipewright/kit';
import type { Command } from 'commander';
import type { Ctx } from '../cli/context.js';
import { UnavailableError } from '../cli/errors.js';
import { addBusOptions, configWith, jsonOption, type ConnectionFlags } from '../cli/options.js';
import { loadCliConfig, type CliConfig } from '../config.js';
import { withBus } from '../connect.js';

/** `pipewright tools list`: the tool registry (KV `pw_tools`), read over NATS. */
export function registerToolsCommands(program: Command, ctx: Ctx): void {
  const tools = program.command('tools').description('tools that registered themselves (the tool registry, over NATS)');
  const list = tools.command('list').description('every registered tool: version, when it registered, its input digest and description').addOption(jsonOption());
  addBusOptions(list).action(async (o: { json?: boolean } & ConnectionFlags) => {
    ctx.print(await runToolsList(o, configWith(ctx.env, o)));
  });
}

/** The `tools list` command: connects, reads the registry, and returns what to print. */
export async function runToolsList(o: { json?: boolean }, cfg: CliConfig = loadCliConfig()): Promise<string> {
  return withBus(cfg, async (bus) => {
    let listed: ToolList;
    try {
      listed = await (await ToolRegistry.open(bus.nc)).list();
    } catch (err) {
      throw new UnavailableError(`the tool registry cannot be read (the planner creates it): ${errorMessage(err)}`);
    }
    return o.json ? JSON.stringify(listed, null, 2) : renderToolList(listed);
  });
}

/** One line per tool; entries that do not parse are listed after, with why. */
export function renderToolList(l: ToolList): string {
  if (l.tools.length === 0 && l.invalid.length === 0) return 'no tool has registered';
  const rows = l.tools.map((t) => [t.name, t.version, t.registeredAt, t.inputDigest.slice(0, 12), oneLine(t.description, 60)]);
  const head = ['TOOL', 'VERSION', 'REGISTERED', 'INPUT', 'DESCRIPTION'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: readonly string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  const out = [line(head), ...rows.map(line)];
  for (const bad of l.invalid) out.push(`${bad.name}: invalid registry entry (${oneLine(bad.reason, 120)})`);
  return out.join('\n');
}

const oneLine = (s: string, max: number) => {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};
