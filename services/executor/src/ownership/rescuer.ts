import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '@pipewright/kit';
import { confirmGone } from './ask.js';
import type { ConnectionWatch } from './connection-watch.js';
import type { RegistryEntry } from './registry.js';

export interface RescuerOptions {
  nc: NatsConnection;
  /** This process's connection history: no rescue just after it reconnected (peers may still be reconnecting). */
  watch: ConnectionWatch;
  kv: KV;
  /** This process's owner id (never rescued by itself). */
  self: string;
  log: Logger;
  /** How often peers are checked (jittered ±20 %). */
  intervalMs: number;
  /** How long a ping waits; an owner that does not answer in time is slow, not dead. */
  pingTimeoutMs: number;
  onRescued?: (owner: string, tasks: number) => void;
}

export interface Rescuer {
  /** One round now (tests); resolves with the owners rescued. */
  tick(): Promise<string[]>;
  stop(): Promise<void>;
}

/**
 * Finds executors that died holding tasks and hands their messages back to the stream at once, so a
 * killed executor's steps run again within about a second and a half instead of after AckWait. Every
 * executor runs one; they contend only through a compare-and-set delete of the dead owner's registry
 * entry, so each dead owner's messages are handed back by one rescuer. A `-NAK` on an ack subject is
 * accepted from any connection; one whose message was already acknowledged is ignored by the server.
 * The redelivered command then takes the task over (lease.ts), the dead owner's lease being gone.
 */
export function startRescuer(o: RescuerOptions): Rescuer {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<string[]> = Promise.resolve([]);

  const rescue = async (owner: string): Promise<boolean> => {
    const e = await o.kv.get(owner);
    if (!e || e.operation !== 'PUT') return false;
    if ((await confirmGone(o.nc, o.watch, owner, o.pingTimeoutMs)) !== 'gone') return false;
    try {
      // Only the rescuer whose delete wins hands the messages back.
      await o.kv.purge(owner, { previousSeq: e.revision });
    } catch {
      return false;
    }
    const entry = e.json<RegistryEntry>();
    const acks = Array.isArray(entry.held) ? entry.held.filter((a): a is string => typeof a === 'string') : [];
    for (const ack of acks) o.nc.publish(ack, '-NAK');
    await o.nc.flush();
    o.log.warn({ owner, tasks: acks.length }, 'executor gone: its tasks were handed back to the stream');
    o.onRescued?.(owner, acks.length);
    return true;
  };

  const round = async (): Promise<string[]> => {
    const owners: string[] = [];
    for await (const k of await o.kv.keys()) if (k !== o.self) owners.push(k);
    const rescued = await Promise.all(owners.map((w) => rescue(w).catch((err: unknown) => (o.log.warn({ err, owner: w }, 'rescue check failed'), false))));
    return owners.filter((_, i) => rescued[i]);
  };

  // The first round runs at once: a replica started to replace a killed one (or a restarted lone
  // executor) hands its predecessor's messages back without waiting an interval.
  const schedule = (first = false) => {
    if (stopped) return;
    const delay = first ? 0 : o.intervalMs * (0.8 + Math.random() * 0.4);
    timer = setTimeout(() => {
      running = round().catch((err: unknown) => (o.log.warn({ err }, 'rescue round failed'), []));
      void running.finally(() => schedule());
    }, delay);
    timer.unref();
  };
  schedule(true);

  return {
    tick: () => round(),
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
