import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { buckets, describeIssues, fromZodError, parseJsonBounded, ToolRegistration, type RegistryEntry, type ToolList } from '@pipewright/contracts';
import { bindExisting } from './kv.js';

/**
 * Largest registry entry the bucket takes. A description (4 000 characters) and two schemas fit many
 * times over; a tool that writes more is refused by the server, not stored for every submit to read.
 */
export const TOOL_REGISTRY_MAX_ENTRY_BYTES = 256 * 1024;

/** Registry reads in flight at once for one lookup. */
const LOOKUP_BATCH = 32;

export interface ToolRegistryOptions {
  /**
   * Create the bucket when it is missing: the topology's owner (the planner, `PW_TOPOLOGY=manage`).
   * false: bind to it; reads and writes fail until the owner has created it. @default false
   */
  create?: boolean;
  /** Replicas of the bucket when this call creates it (3 on a cluster). @default 1 */
  replicas?: number;
}

/**
 * The tool registry: KV bucket `pw_tools`, one entry per tool name (its ToolRegistration), written by
 * the tool when it starts and read by the planner at submit. Entries are checked when read: a bucket
 * anyone with write access could fill is never trusted blindly.
 */
export class ToolRegistry {
  private constructor(private readonly kv: KV) {}

  static async open(nc: NatsConnection, opts: ToolRegistryOptions = {}): Promise<ToolRegistry> {
    const kvm = new Kvm(nc);
    const kv = opts.create
      ? await kvm.create(buckets.tools, { history: 1, replicas: opts.replicas ?? 1, maxValueSize: TOOL_REGISTRY_MAX_ENTRY_BYTES })
      : await bindExisting(kvm, buckets.tools);
    return new ToolRegistry(kv);
  }

  /**
   * Binds without a round trip: for a tool, which may not read the bucket's stream info and may start
   * before the bucket exists (its writes fail until the planner has created it).
   */
  static async forWriting(nc: NatsConnection): Promise<ToolRegistry> {
    return new ToolRegistry(await new Kvm(nc).open(buckets.tools));
  }

  /** Writes (or overwrites) a tool's entry under its name. */
  async put(registration: ToolRegistration): Promise<void> {
    await this.kv.put(registration.name, JSON.stringify(registration));
  }

  /**
   * The entry of each name that has one (absent names are left out). Read LOOKUP_BATCH at a time: a
   * request may name thousands of tools, and one submit must not flood the server with reads.
   */
  async lookup(names: Iterable<string>): Promise<Map<string, RegistryEntry>> {
    const unique = [...new Set(names)];
    const out = new Map<string, RegistryEntry>();
    for (let i = 0; i < unique.length; i += LOOKUP_BATCH) {
      const batch = await Promise.all(unique.slice(i, i + LOOKUP_BATCH).map(async (name) => [name, await this.get(name)] as const));
      for (const [name, e] of batch) if (e) out.set(name, e);
    }
    return out;
  }

  async get(name: string): Promise<RegistryEntry | undefined> {
    const e = await this.kv.get(name);
    if (!e || e.operation !== 'PUT') return undefined;
    return decodeEntry(e.string(), name);
  }

  /** Every entry, in name order, and the names whose entries do not parse. */
  async list(): Promise<ToolList> {
    const out: ToolList = { tools: [], invalid: [] };
    for await (const name of await this.kv.keys()) {
      const entry = await this.get(name);
      if (entry && 'invalid' in entry) out.invalid.push({ name, reason: entry.invalid });
      else if (entry) out.tools.push(entry);
    }
    out.tools.sort((a, b) => a.name.localeCompare(b.name));
    out.invalid.sort((a, b) => a.name.localeCompare(b.name));
    return out;
  }
}

function decodeEntry(text: string, key: string): RegistryEntry {
  // Depth is checked on the text, before anything recursive walks the value.
  const raw = parseJsonBounded(text);
  if (!raw.ok) return { invalid: raw.reason };
  const parsed = ToolRegistration.safeParse(raw.value);
  if (!parsed.success) return { invalid: describeIssues(fromZodError(parsed.error)).slice(0, 500) };
  if (parsed.data.name !== key) return { invalid: `it names tool "${parsed.data.name}"` };
  return parsed.data;
}
