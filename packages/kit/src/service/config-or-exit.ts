import { ConfigError } from '../errors.js';

/** Exit code for a configuration error (sysexits EX_CONFIG). */
export const EXIT_CONFIG = 78;

/**
 * Loads a service's configuration, or prints what is wrong (each variable and what was expected) and
 * exits with EX_CONFIG: a bad variable stops start-up instead of running on a guess.
 */
export function configOrExit<T>(load: () => T, service: string): T {
  try {
    return load();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${service}: ${err.message}\n`);
    process.exit(EXIT_CONFIG);
  }
}
