import type { Command } from 'commander';
import { BUS_ROLES, generateRoleKeys, writeRoleKeys } from '@pipewright/kit';
import type { Ctx } from '../cli/context.js';
import { jsonOption } from '../cli/options.js';

/**
 * `pipewright nats-auth --out DIR`: a fresh identity per bus role — `DIR/<role>.nk` seeds (0600), the
 * nats-server `authorization` block to include (`DIR/auth.conf`), and `DIR/public-keys.env` with
 * PW_APPROVER_PUBLIC_KEYS for the planner. See docs/security.md and deploy/README.md.
 */
export function registerNatsAuthCommand(program: Command, ctx: Ctx): void {
  program
    .command('nats-auth')
    .description('generate an nkey identity per bus role and the nats-server authorization config with their permissions')
    .requiredOption('--out <dir>', 'folder to write the seeds, auth.conf and public-keys.env into')
    .option('--tools <names>', 'comma-separated tool names the tools role may serve and executors may call (default: any)')
    .addOption(jsonOption())
    .action(async (o: { out: string; tools?: string; json?: boolean }) => {
      const tools = o.tools?.split(',').map((t) => t.trim()).filter((t) => t !== '');
      const written = await writeRoleKeys(o.out, generateRoleKeys(), tools && tools.length > 0 ? { tools } : {});
      const files = [...BUS_ROLES.map((r) => `${r}.nk`), 'auth.conf', 'public-keys.env'];
      if (o.json) return ctx.json({ dir: written.dir, files });
      ctx.print(`wrote ${BUS_ROLES.map((r) => `${r}.nk`).join(', ')}, auth.conf and public-keys.env to ${written.dir}`);
      ctx.print('include auth.conf from nats-server.conf; give each service its seed as NATS_NKEY_SEED_FILE; the planner PW_APPROVER_PUBLIC_KEYS from public-keys.env');
    });
}
