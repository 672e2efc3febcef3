import type { Logger, Sessions, TokenSet } from '@pipewright/kit';
import type { Approvals } from '../approvals/service.js';
import type { Background } from '../approvals/background.js';
import type { Notifier } from '../notify/notifier.js';

/** What the HTTP channels (API, inbox, Slack) share. */
export interface HttpDeps {
  approvals: Approvals;
  tokens: TokenSet;
  sessions: Sessions;
  notifier: Notifier;
  background: Background;
  log: Logger;
  slack?: { signingSecret: string; allowedUsers?: readonly string[] };
  /** The URL people reach the approver at: the Origin inbox forms must come from when set. */
  publicUrl?: string;
}

/** Largest request body accepted (edited arguments included). */
export const MAX_BODY_BYTES = 1024 * 1024;
