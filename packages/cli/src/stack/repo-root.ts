import { fileURLToPath } from 'node:url';

/** Root of the repository, from this file's place in packages/cli/dist/stack/. */
export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
