import { readFileSync } from 'node:fs';
import { z } from 'zod';

/** The package's version (`pipewright --version`), read from its package.json next to dist/. */
export function cliVersion(): string {
  const pkg = z.object({ version: z.string() }).parse(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')));
  return pkg.version;
}
