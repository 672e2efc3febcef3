import { loadTokenSet, type TokenSet } from '@pipewright/kit';
import type { ConsoleConfig } from './config.js';
import type { Authenticator, ConsoleRole } from './ports.js';

export const CONSOLE_ROLES: readonly ConsoleRole[] = ['read', 'operate'];

/** The console's tokens: an Authenticator for the API, and what dashboard sessions check (`has`, `roleOf`). */
export interface ConsoleTokens extends Authenticator {
  readonly size: number;
  has(name: string): boolean;
  roleOf(name: string): ConsoleRole | undefined;
}

const asRole = (r: string | undefined): ConsoleRole | undefined => (r === 'read' || r === 'operate' ? r : undefined);

export function consoleTokens(set: TokenSet): ConsoleTokens {
  return {
    get size() {
      return set.size;
    },
    fingerprint: set.fingerprint,
    verify(token) {
      const h = set.verify(token);
      const role = asRole(h?.role);
      return h && role ? { name: h.name, role } : undefined;
    },
    has: (name) => set.has(name),
    roleOf: (name) => asRole(set.roleOf(name)),
  };
}

/** PW_CONSOLE_TOKENS and PW_CONSOLE_TOKENS_FILE (`name:role:token`, role read or operate). */
export function loadConsoleTokens(cfg: Pick<ConsoleConfig, 'PW_CONSOLE_TOKENS' | 'PW_CONSOLE_TOKENS_FILE'>): ConsoleTokens {
  return consoleTokens(
    loadTokenSet({ inline: cfg.PW_CONSOLE_TOKENS, inlineVariable: 'PW_CONSOLE_TOKENS', file: cfg.PW_CONSOLE_TOKENS_FILE, fileVariable: 'PW_CONSOLE_TOKENS_FILE', format: { roles: CONSOLE_ROLES } }),
  );
}
