import { timingSafeEqual } from 'node:crypto';

/** Constant-time comparison of two strings (different lengths are unequal without comparing). */
export function equalText(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}
