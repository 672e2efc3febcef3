// Seeded randomness and stable hashing. Everything the simulator "chooses" comes from here, so that a
// given seed (and call order) always produces the same faults, latencies and answers.
import { createHash } from 'node:crypto';

/** A function returning uniform numbers in [0, 1). */
export type Random = () => number;

/**
 * mulberry32: a tiny, fast 32-bit PRNG. Not cryptographic; its only job is to be reproducible from
 * a seed across Node versions (Math.random cannot be seeded).
 */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Lowercase hex SHA-256 prefix of `input`; `length` hex characters (default 8). */
export function shortHash(input: string, length = 8): string {
  return createHash('sha256').update(input).digest('hex').slice(0, length);
}

/** A stable unsigned 32-bit integer derived from `input`. */
export function hashInt(input: string): number {
  return Number.parseInt(shortHash(input, 8), 16);
}
