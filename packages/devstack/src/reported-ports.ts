// Reading the port a server bound from what it prints. A server given port 0 binds one the kernel
// chooses and says which; reading that line replaces "pick a free port, then start the server on it",
// which races with every other process on the machine (test files run in parallel: issue 10).

/** Reads a bound port from one output line: the port, or undefined when the line does not report it. */
export type PortReader = (line: string) => number | undefined;

/** Looks up a port that a started process reported, by the name it was read under. */
export type PortLookup = (name: string) => number;

/** A reader for lines that match `pattern`, whose first capture group is the port. */
export function portFromLine(pattern: RegExp): PortReader {
  return (line) => {
    pattern.lastIndex = 0;
    const match = pattern.exec(line);
    return match?.[1] === undefined ? undefined : asPort(Number(match[1]));
  };
}

/**
 * A reader for a JSON log line (pino's, as every Pipewright service writes, or llm-sim's ready line)
 * whose `msg` is `msg`: its numeric `field`.
 */
export function portFromJsonLog(msg: string, field = 'port'): PortReader {
  return (line) => {
    // Most lines are not the one: skip them before paying for JSON.parse.
    if (!line.startsWith('{') || !line.includes(msg)) return undefined;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch {
      return undefined;
    }
    if (typeof record !== 'object' || record === null) return undefined;
    const fields = record as Record<string, unknown>;
    return fields['msg'] === msg ? asPort(fields[field]) : undefined;
  };
}

/** A TCP port a server could have bound: 0 is not one (it means "any", never "this one"). */
function asPort(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 && value <= 65_535 ? value : undefined;
}

/** A PortLookup over the ports read so far; a name that was not reported is a bug of the caller. */
export function portLookup(ports: ReadonlyMap<string, number>, owner: string): PortLookup {
  return (name) => {
    const port = ports.get(name);
    if (port === undefined) throw new Error(`${owner} has reported no port named ${JSON.stringify(name)}`);
    return port;
  };
}
