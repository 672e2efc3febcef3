// A local stack's bus identities: fresh keys per stack (one per role, in a private temporary folder),
// the nats-server authorization block with each role's permissions, and what each process needs to
// connect as its role. The same tables as a deployment (`pipewright nats-auth`), so the dev stack and
// the tests run with the permissions production has.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, nkeyAuthenticator, type NodeConnectionOptions } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { buckets } from '@pipewright/contracts';
import { ensureTopology, generateRoleKeys, inboxPrefixFor, publicKeysOf, renderAuthorization, ToolRegistry, writeRoleKeys, type BusRole, type RoleKeys, type WrittenAuth } from '@pipewright/kit';

export class DevBusAuth {
  private constructor(
    private readonly keys: RoleKeys,
    private readonly written: WrittenAuth,
  ) {}

  /** Generates the keys and writes the seed files (mode 0600) into a new temporary folder. */
  static async create(): Promise<DevBusAuth> {
    const dir = await mkdtemp(join(tmpdir(), 'pw-bus-auth-'));
    const keys = generateRoleKeys();
    return new DevBusAuth(keys, await writeRoleKeys(dir, keys));
  }

  /** The `authorization` block for nats-server's configuration. */
  serverConfig(): string {
    return renderAuthorization(publicKeysOf(this.keys));
  }

  /** The seed file of a role (NATS_NKEY_SEED_FILE; `nats --nkey FILE`). */
  seedFile(role: BusRole): string {
    return this.written.seedFiles[role];
  }

  /** The approver's public key: what the planner checks decisions against. */
  get approverPublicKey(): string {
    return this.keys.approver.publicKey;
  }

  /** Connection options of a client acting as `role`. */
  connectionOptions(servers: string, role: BusRole): NodeConnectionOptions {
    const authenticator = nkeyAuthenticator(new TextEncoder().encode(this.keys[role].seed));
    return role === 'admin' ? { servers, authenticator } : { servers, authenticator, inboxPrefix: inboxPrefixFor(this.keys[role].publicKey) };
  }

  /**
   * The environment of a process acting as `role`: its own identity; the planner manages the streams and
   * checks decisions against the approver's key, every other role waits for the streams (it may not
   * create them).
   */
  serviceEnv(role: BusRole): Record<string, string> {
    const env: Record<string, string> = { NATS_NKEY_SEED_FILE: this.seedFile(role) };
    if (role === 'planner') env['PW_APPROVER_PUBLIC_KEYS'] = this.approverPublicKey;
    else env['PW_TOPOLOGY'] = 'verify';
    return env;
  }

  /** Removes the keys. */
  async remove(): Promise<void> {
    await rm(this.written.dir, { recursive: true, force: true });
  }
}

/**
 * Creates the PW_* streams (as an operator's set-up step would), with the replicas and duplicate window
 * the services are configured with, so the planner's own check at start-up finds nothing to change.
 */
export async function createTopology(admin: NodeConnectionOptions, env: Readonly<Record<string, string>>): Promise<void> {
  const nc = await connect(admin);
  try {
    const jsm = await jetstreamManager(nc);
    const replicas = env['PW_REPLICAS'] ? Number(env['PW_REPLICAS']) : undefined;
    const window = env['PW_DEDUPE_WINDOW_MS'] ? Number(env['PW_DEDUPE_WINDOW_MS']) : undefined;
    await ensureTopology(jsm, { ...(replicas ? { replicas } : {}), ...(window ? { duplicateWindowMs: window } : {}) });
    // The planner's run checkpoints: other services bind to the bucket and wait until it exists.
    if ((env['PW_STORE'] ?? 'kv') === 'kv') await new Kvm(nc).create(buckets.runs, { history: 1, replicas: replicas ?? 1 });
    // The tool registry: tools write their entries as they start, which may be before the planner's.
    await ToolRegistry.open(nc, { create: true, replicas: replicas ?? 1 });
  } finally {
    await nc.close();
  }
}
