import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError, errorMessage } from '@pipewright/kit';
import type { ApproverConfig } from '../config.js';

/** Tokens shorter than this are refused at start-up: they could be guessed. */
export const MIN_TOKEN_LENGTH = 16;
const NAME = /^[A-Za-z0-9_.@-]{1,64}$/;

interface Entry {
  readonly name: string;
  readonly digest: Buffer;
}

const digestOf = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/**
 * The API tokens, each with the name recorded as who decided. Tokens are compared as SHA-256 digests
 * with `timingSafeEqual` (equal lengths whatever was presented), against every entry without an early
 * exit, so the time taken says nothing about how close a guess was or which entry it matched.
 */
export class TokenSet {
  private constructor(
    private readonly entries: readonly Entry[],
    /** A digest of the whole set, to derive the session key from when none is configured. */
    readonly fingerprint: Buffer,
  ) {}

  /** Parses `name:token` entries; a bad entry throws a ConfigError naming `variable`. */
  static parse(items: readonly string[], variable: string): TokenSet {
    const problems: string[] = [];
    const entries: Entry[] = [];
    const seen = new Set<string>();
    items.forEach((item, i) => {
      const at = item.indexOf(':');
      const name = at > 0 ? item.slice(0, at).trim() : '';
      const token = at > 0 ? item.slice(at + 1).trim() : '';
      if (!NAME.test(name)) problems.push(`${variable}: entry ${i + 1} needs the form name:token with a name of letters, digits, "_", ".", "@" or "-"`);
      else if (token.length < MIN_TOKEN_LENGTH) problems.push(`${variable}: the token of "${name}" is shorter than ${MIN_TOKEN_LENGTH} characters`);
      else if (seen.has(name)) problems.push(`${variable}: "${name}" appears twice`);
      else {
        seen.add(name);
        entries.push({ name, digest: digestOf(token) });
      }
    });
    if (problems.length > 0) throw new ConfigError(problems);
    const sorted = [...entries].sort((a, b) => (a.name < b.name ? -1 : 1));
    const fp = createHash('sha256');
    for (const e of sorted) fp.update(e.name).update(e.digest);
    return new TokenSet(entries, fp.digest());
  }

  static merge(a: TokenSet, b: TokenSet): TokenSet {
    const names = new Set(a.entries.map((e) => e.name));
    const clash = b.entries.find((e) => names.has(e.name));
    if (clash) throw new ConfigError([`PW_APPROVER_TOKENS_FILE: "${clash.name}" is also in PW_APPROVER_TOKENS`]);
    const fp = createHash('sha256').update(a.fingerprint).update(b.fingerprint).digest();
    return new TokenSet([...a.entries, ...b.entries], fp);
  }

  get size(): number {
    return this.entries.length;
  }

  /** The name of the token presented, or undefined. */
  verify(presented: string): string | undefined {
    const d = digestOf(presented);
    let found: string | undefined;
    for (const e of this.entries) if (timingSafeEqual(d, e.digest) && found === undefined) found = e.name;
    return found;
  }

  /** Whether a name still has a token (a session ends when its token is removed). */
  has(name: string): boolean {
    return this.entries.some((e) => e.name === name);
  }
}

/** Tokens from PW_APPROVER_TOKENS and PW_APPROVER_TOKENS_FILE (one entry a line, or comma-separated; `#` comments). */
export function loadTokens(cfg: Pick<ApproverConfig, 'PW_APPROVER_TOKENS' | 'PW_APPROVER_TOKENS_FILE'>): TokenSet {
  const inline = TokenSet.parse(cfg.PW_APPROVER_TOKENS ?? [], 'PW_APPROVER_TOKENS');
  if (cfg.PW_APPROVER_TOKENS_FILE === undefined) return inline;
  let text: string;
  try {
    text = readFileSync(cfg.PW_APPROVER_TOKENS_FILE, 'utf8');
  } catch (err) {
    throw new ConfigError([`PW_APPROVER_TOKENS_FILE: cannot read ${cfg.PW_APPROVER_TOKENS_FILE}: ${errorMessage(err)}`]);
  }
  const items = text
    .split(/[\n,]/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  return TokenSet.merge(inline, TokenSet.parse(items, 'PW_APPROVER_TOKENS_FILE'));
}
