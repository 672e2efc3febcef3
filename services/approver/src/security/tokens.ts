import { loadTokenSet, type TokenSet } from '@pipewright/kit';
import type { ApproverConfig } from '../config.js';

/** Tokens from PW_APPROVER_TOKENS and PW_APPROVER_TOKENS_FILE (`name:token` entries; see kit's TokenSet). */
export function loadTokens(cfg: Pick<ApproverConfig, 'PW_APPROVER_TOKENS' | 'PW_APPROVER_TOKENS_FILE'>): TokenSet {
  return loadTokenSet({ inline: cfg.PW_APPROVER_TOKENS, inlineVariable: 'PW_APPROVER_TOKENS', file: cfg.PW_APPROVER_TOKENS_FILE, fileVariable: 'PW_APPROVER_TOKENS_FILE' });
}
