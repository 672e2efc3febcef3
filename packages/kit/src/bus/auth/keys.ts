// One nkey identity per bus role: generated for a deployment (`pipewright nats-auth`) or for a dev
// stack, written as seed files (one per role, mode 0600) plus the server's authorization include.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createUser } from '@nats-io/nkeys';
import { BUS_ROLES, type BusRole, type PermissionOptions } from './roles.js';
import { renderAuthorization, type RolePublicKeys } from './server-config.js';

export interface RoleKey {
  /** The public key (`U…`): what the server and a signature check know. */
  publicKey: string;
  /** The seed (`SU…`): the secret the role's processes hold. */
  seed: string;
}

export type RoleKeys = Readonly<Record<BusRole, RoleKey>>;

const dec = new TextDecoder();

/** A fresh key pair for every role. */
export function generateRoleKeys(): RoleKeys {
  const entries = BUS_ROLES.map((role) => {
    const kp = createUser();
    return [role, { publicKey: kp.getPublicKey(), seed: dec.decode(kp.getSeed()) }] as const;
  });
  return Object.fromEntries(entries) as Record<BusRole, RoleKey>;
}

export function publicKeysOf(keys: RoleKeys): RolePublicKeys {
  return Object.fromEntries(BUS_ROLES.map((r) => [r, keys[r].publicKey])) as Record<BusRole, string>;
}

export interface WrittenAuth {
  dir: string;
  /** The seed file of each role (NATS_NKEY_SEED_FILE). */
  seedFiles: Readonly<Record<BusRole, string>>;
  /** The authorization block to include from nats-server.conf. */
  authConf: string;
  /** `PW_APPROVER_PUBLIC_KEYS=…` and each role's public key, as an env file. */
  publicKeysEnv: string;
}

/** The name of a role's seed file in an auth folder. */
export const seedFileName = (role: BusRole) => `${role}.nk`;

/** Writes `<role>.nk` seeds (0600), `auth.conf` and `public-keys.env` into `dir`. */
export async function writeRoleKeys(dir: string, keys: RoleKeys, opts: PermissionOptions = {}): Promise<WrittenAuth> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const seedFiles = {} as Record<BusRole, string>;
  for (const role of BUS_ROLES) {
    seedFiles[role] = join(dir, seedFileName(role));
    await writeFile(seedFiles[role], `${keys[role].seed}\n`, { mode: 0o600 });
  }
  const authConf = join(dir, 'auth.conf');
  await writeFile(authConf, renderAuthorization(publicKeysOf(keys), opts));
  const publicKeysEnv = join(dir, 'public-keys.env');
  const lines = [`PW_APPROVER_PUBLIC_KEYS=${keys.approver.publicKey}`, ...BUS_ROLES.map((r) => `# ${r}: ${keys[r].publicKey}`)];
  await writeFile(publicKeysEnv, `${lines.join('\n')}\n`);
  return { dir, seedFiles, authConf, publicKeysEnv };
}
