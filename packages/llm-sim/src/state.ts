// The mutable heart of one simulator: the current config and everything derived from it (PRNGs,
// script positions), plus the counters. Replacing the config restarts the random sequences and the
// script positions, so a test that sets a config gets the same run every time; counters survive.
import type { MalformedVariant } from './corrupt.js';
import { CounterSet } from './counters.js';
import { seededRandom } from './prng.js';
import type { Random } from './prng.js';
import { ScriptBook } from './script.js';
import type { LatencyConfig, SimConfig } from './sim-config.js';

/** Seed used when the config has none. */
export const DEFAULT_SEED = 0;

export class SimState {
  readonly counters = new CounterSet();
  private current: SimConfig = {};
  private faultRng: Random = seededRandom(DEFAULT_SEED);
  private latencyRng: Random = seededRandom(DEFAULT_SEED + 1);
  private book = new ScriptBook([]);
  private malformedCount = 0;

  /** Installs an already validated config. */
  constructor(config: SimConfig) {
    this.setConfig(config);
  }

  get config(): SimConfig {
    return this.current;
  }

  get seed(): number {
    return this.current.seed ?? DEFAULT_SEED;
  }

  get scripts(): ScriptBook {
    return this.book;
  }

  /** Replaces an already validated config and restarts PRNGs and script sequences. */
  setConfig(config: SimConfig): void {
    this.current = config;
    // Separate streams: turning latency on must not change which calls fault.
    this.faultRng = seededRandom(this.seed);
    this.latencyRng = seededRandom(this.seed + 1);
    this.book = new ScriptBook(config.scripts ?? []);
    this.malformedCount = 0;
  }

  /** One uniform draw for the fault decision of a call. */
  faultDraw(): number {
    return this.faultRng();
  }

  get latencyRandom(): Random {
    return this.latencyRng;
  }

  /** The latency config that applies to `model` (its `perModel` entry wins over the global one). */
  latencyFor(model: string): LatencyConfig | undefined {
    return this.current.faults?.perModel?.[model]?.latency ?? this.current.latency;
  }

  /** True when `model` may be called: no `models` list, or the model is on it. */
  knowsModel(model: string): boolean {
    return this.current.models === undefined || this.current.models.includes(model);
  }

  /** Alternates malformed variants so both appear: fenced first, then truncated. */
  nextMalformedVariant(): MalformedVariant {
    this.malformedCount += 1;
    return this.malformedCount % 2 === 1 ? 'fenced' : 'truncated';
  }
}
