import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError, errorMessage } from '../errors.js';

/** Tokens shorter than this are refused at start-up: they could be guessed. */
export const MIN_TOKEN_LENGTH = 16;
const NAME = /^[A-Za-z0-9_.@-]{1,64}$/;

interface Entry {
  readonly name: string;
  readonly role: string | undefined;
  readonly digest: Buffer;
}

/** Who a presented token belongs to, and (for a role-bearing set) what it may do. */
export interface TokenHolder {
  readonly name: string;
  readonly role: string | undefined;
}

/** How entries are written: `name:token`, or `name:role:token` when `roles` lists the roles allowed. */
export interface TokenFormat {
  readonly roles?: readonly string[];
}

const digestOf = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/**
 * Bearer tokens, each with a name (recorded as who acted) and optionally a role. Tokens are compared as
 * SHA-256 digests with `timingSafeEqual` (equal lengths whatever was presented), against every entry
 * without an early exit, so the time taken says nothing about how close a guess was or which entry it
 * matched.
 */
export class TokenSet {
  private constructor(
    private readonly entries: readonly Entry[],
    /** A digest of the whole set, to derive a session key from when none is configured. */
    readonly fingerprint: Buffer,
  ) {}

  /** Parses entries; a bad entry throws a ConfigError naming `variable`. */
  static parse(items: readonly string[], variable: string, format: TokenFormat = {}): TokenSet {
    const problems: string[] = [];
    const entries: Entry[] = [];
    const seen = new Set<string>();
    const form = format.roles ? `name:role:token (role ${format.roles.join(' or ')})` : 'name:token';
    items.forEach((item, i) => {
      const parts = splitEntry(item, format.roles !== undefined);
      if (!parts || !NAME.test(parts.name)) problems.push(`${variable}: entry ${i + 1} needs the form ${form} with a name of letters, digits, "_", ".", "@" or "-"`);
      else if (format.roles && !format.roles.includes(parts.role ?? '')) problems.push(`${variable}: the role of "${parts.name}" must be ${format.roles.join(' or ')}`);
      else if (parts.token.length < MIN_TOKEN_LENGTH) problems.push(`${variable}: the token of "${parts.name}" is shorter than ${MIN_TOKEN_LENGTH} characters`);
      else if (seen.has(parts.name)) problems.push(`${variable}: "${parts.name}" appears twice`);
      else {
        seen.add(parts.name);
        entries.push({ name: parts.name, role: parts.role, digest: digestOf(parts.token) });
      }
    });
    if (problems.length > 0) throw new ConfigError(problems);
    const sorted = [...entries].sort((a, b) => (a.name < b.name ? -1 : 1));
    const fp = createHash('sha256');
    for (const e of sorted) fp.update(e.name).update(e.role ?? '').update(e.digest);
    return new TokenSet(entries, fp.digest());
  }

  /** Both sets; a name in both is a ConfigError naming `variable` (the second set's source). */
  static merge(a: TokenSet, b: TokenSet, variable: string, other: string): TokenSet {
    const names = new Set(a.entries.map((e) => e.name));
    const clash = b.entries.find((e) => names.has(e.name));
    if (clash) throw new ConfigError([`${variable}: "${clash.name}" is also in ${other}`]);
    const fp = createHash('sha256').update(a.fingerprint).update(b.fingerprint).digest();
    return new TokenSet([...a.entries, ...b.entries], fp);
  }

  get size(): number {
    return this.entries.length;
  }

  /** The holder of the token presented, or undefined. */
  verify(presented: string): TokenHolder | undefined {
    const d = digestOf(presented);
    let found: Entry | undefined;
    for (const e of this.entries) if (timingSafeEqual(d, e.digest) && found === undefined) found = e;
    return found && { name: found.name, role: found.role };
  }

  /** Whether a name still has a token (a session ends when its token is removed). */
  has(name: string): boolean {
    return this.entries.some((e) => e.name === name);
  }

  /** The role of a name's token (a session's role follows its token's), or undefined. */
  roleOf(name: string): string | undefined {
    return this.entries.find((e) => e.name === name)?.role;
  }
}

function splitEntry(item: string, withRole: boolean): { name: string; role: string | undefined; token: string } | undefined {
  const at = item.indexOf(':');
  if (at <= 0) return undefined;
  const name = item.slice(0, at).trim();
  const rest = item.slice(at + 1);
  if (!withRole) return { name, role: undefined, token: rest.trim() };
  const at2 = rest.indexOf(':');
  if (at2 <= 0) return undefined;
  return { name, role: rest.slice(0, at2).trim(), token: rest.slice(at2 + 1).trim() };
}

/**
 * Tokens from a variable's list and a file (one entry a line, or comma-separated; `#` comments), e.g. a
 * mounted Kubernetes Secret. A name in both, an unreadable file or a bad entry is a ConfigError.
 */
export function loadTokenSet(o: { inline: readonly string[] | undefined; inlineVariable: string; file: string | undefined; fileVariable: string; format?: TokenFormat }): TokenSet {
  const inline = TokenSet.parse(o.inline ?? [], o.inlineVariable, o.format);
  if (o.file === undefined) return inline;
  let text: string;
  try {
    text = readFileSync(o.file, 'utf8');
  } catch (err) {
    throw new ConfigError([`${o.fileVariable}: cannot read ${o.file}: ${errorMessage(err)}`]);
  }
  const items = text
    .split(/[\n,]/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  return TokenSet.merge(inline, TokenSet.parse(items, o.fileVariable, o.format), o.fileVariable, o.inlineVariable);
}
