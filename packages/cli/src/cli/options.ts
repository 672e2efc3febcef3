import { Argument, InvalidArgumentError, Option, type Command } from 'commander';
import { loadCliConfig, type CliConfig } from '../config.js';
import { UsageError } from './errors.js';

type Parse<T> = (value: string, previous: T) => T;

/** Calls a value parser; its `InvalidArgumentError` becomes a usage error naming `what` (exit 2). */
function naming<T>(what: string, parse: Parse<T>): Parse<T> {
  return (value, previous) => {
    try {
      return parse(value, previous);
    } catch (err) {
      if (err instanceof InvalidArgumentError) throw new UsageError(`${what}: ${err.message}`);
      throw err;
    }
  };
}

/** An option whose value is checked by `parse`: `--limit abc` → `option '--limit <n>': not a positive integer`. */
export function valueOption<T>(flags: string, description: string, parse: Parse<T>): Option {
  return new Option(flags, description).argParser(naming(`option '${flags}'`, parse));
}

/** A positional argument checked by `parse`. */
export function valueArgument<T>(name: string, description: string, parse: Parse<T>): Argument {
  return new Argument(name, description).argParser(naming(`argument '${name.replace(/[<>[\]]/g, '')}'`, parse));
}

/** `--json`: one JSON document on stdout (JSON lines for a stream of events). */
export function jsonOption(stream = false): Option {
  return new Option('--json', stream ? 'print JSON lines (one run event per line) instead of text' : 'print the result as one JSON document instead of text');
}

/** Flags that override the connection variables, for the commands that reach NATS, the console or the approver. */
export interface ConnectionFlags {
  natsUrl?: string;
  creds?: string;
  nkeySeedFile?: string;
  consoleUrl?: string;
  token?: string;
  approverUrl?: string;
  approverToken?: string;
}

const FLAG_VARIABLES: Record<keyof ConnectionFlags, string> = {
  natsUrl: 'NATS_URL',
  creds: 'NATS_CREDS',
  nkeySeedFile: 'NATS_NKEY_SEED_FILE',
  consoleUrl: 'PW_CONSOLE_URL',
  token: 'PW_CONSOLE_TOKEN',
  approverUrl: 'PW_APPROVER_URL',
  approverToken: 'PW_APPROVER_TOKEN',
};

/** The NATS connection flags (and the variables they override). */
export function addBusOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--nats-url <url>', 'NATS server(s), comma-separated (env NATS_URL; default nats://127.0.0.1:4222)').helpGroup('Connection:'))
    .addOption(new Option('--nkey-seed-file <file>', 'the bus identity: an nkey seed file (env NATS_NKEY_SEED_FILE; `pipewright dev` prints it)').helpGroup('Connection:'))
    .addOption(new Option('--creds <file>', 'the bus identity: a NATS .creds file (env NATS_CREDS)').helpGroup('Connection:'));
}

/** The console API flags. */
export function addConsoleOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--console-url <url>', 'the console URL, e.g. http://127.0.0.1:8070 (env PW_CONSOLE_URL; `pipewright dev` prints it)').helpGroup('Connection:'))
    .addOption(new Option('--token <token>', 'console bearer token: read, or operate to change runs (env PW_CONSOLE_TOKEN)').helpGroup('Connection:'));
}

/** The approver API flags. */
export function addApproverOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--approver-url <url>', "the approver's API base URL (env PW_APPROVER_URL)").helpGroup('Connection:'))
    .addOption(new Option('--approver-token <token>', 'approver bearer token (env PW_APPROVER_TOKEN)').helpGroup('Connection:'));
}

/** Configuration from the environment, each flag given replacing its variable. */
export function configWith(env: Readonly<Record<string, string | undefined>>, flags: ConnectionFlags): CliConfig {
  const merged: Record<string, string | undefined> = { ...env };
  for (const [flag, variable] of Object.entries(FLAG_VARIABLES) as [keyof ConnectionFlags, string][]) if (flags[flag] !== undefined) merged[variable] = flags[flag];
  return loadCliConfig(merged);
}
