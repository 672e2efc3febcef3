import { readFileSync } from 'node:fs';
import { MessageSigner, seedFromFileText, type Logger } from '@pipewright/kit';
import type { ApproverConfig } from '../config.js';

/**
 * The key that signs decisions: PW_APPROVER_SIGNING_KEY_FILE, else the approver's own bus identity
 * (NATS_NKEY_SEED_FILE or NATS_CREDS). Without one, decisions go unsigned and a planner that checks
 * signatures (PW_APPROVER_PUBLIC_KEYS set) ignores them: said loudly at start.
 */
export function loadDecisionSigner(cfg: ApproverConfig, log: Logger): MessageSigner | undefined {
  const file = cfg.PW_APPROVER_SIGNING_KEY_FILE ?? cfg.NATS_NKEY_SEED_FILE ?? cfg.NATS_CREDS;
  if (file === undefined) {
    log.warn('no signing key (PW_APPROVER_SIGNING_KEY_FILE, NATS_NKEY_SEED_FILE, NATS_CREDS): decisions are published unsigned, and a planner with PW_APPROVER_PUBLIC_KEYS ignores them');
    return undefined;
  }
  const signer = new MessageSigner(seedFromFileText(readFileSync(file, 'utf8')));
  log.info({ publicKey: signer.publicKey }, 'decisions are signed with this key (the planner needs it in PW_APPROVER_PUBLIC_KEYS)');
  return signer;
}
