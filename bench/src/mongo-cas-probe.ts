import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { canConnect, freePort, requireBinary, startFerretDb, startProcess } from '@pipewright/devstack';
import { connectMongo, errorMessage, VersionedCollection } from '@pipewright/kit';
import { round } from './lib/stats.js';

/**
 * Does a MongoDB-compatible server apply a conditional update atomically? For each backend of FerretDB
 * 1.24 (SQLite; PostgreSQL when one is reachable, at its default isolation and at serializable) and each
 * way of writing a compare-and-set filtered on `{ _id, version }`, 24 writers run 30 rounds each on one
 * counter document: read it, write `version + 1, n + 1` conditional on the version read, retry on a miss.
 * A server that honours the filter ends with n = the writes it acknowledged, and no two acknowledged
 * writes from one version. (FerretDB 1.24's update, `internal/handler/msg_update.go`, queries the
 * matching documents first and then writes each by `_id` in a statement of its own, on every backend.)
 */
const WRITERS = 24;
const ROUNDS = 30;
/** A case that has not finished by then is reported as incomplete (an atomic server under contention is slow, never stuck). */
const CASE_DEADLINE_MS = 240_000;
/**
 * Full-jitter backoff after a missed compare-and-set, doubling per miss in a row from BACKOFF_BASE_MS to
 * the cap, so that 24 writers do not spin on one document. (The first two runs in mongo-cas.jsonl used a
 * flat 0-20 ms and no control case.)
 */
const BACKOFF_BASE_MS = 10;
const BACKOFF_CAP_MS = 1_000;
const PG_URL = 'postgres://postgres@127.0.0.1:5432';
const PG_TIMEOUT_MS = 10_000;

/**
 * The four ways to write a conditional update, and the control: kit's versioned documents, whose
 * compare-and-set is an insert under a unique `_id` (what the stores use).
 */
const OPS = ['replaceOne', 'updateOne $set', 'updateOne $inc', 'findOneAndUpdate', 'versioned (insert)'] as const;
type Op = (typeof OPS)[number];

interface Counter {
  _id: string;
  version: number;
  n: number;
}

interface CaseResult {
  backend: string;
  op: Op;
  /** Writes reported as applied: the server matched and modified the document, or the versioned store said ok. */
  acknowledged: number;
  /** Increments the document holds at the end. */
  applied: number;
  /** Acknowledged but not applied (at least this many: a write that reported an error may have applied). */
  lost: number;
  /** Applied by writes that reported an error (outcome unknown to the writer), when more applied than were acknowledged. */
  appliedUnacknowledged: number;
  /** Acknowledged writes from a version another acknowledged write also started from. */
  sameBaseWins: number;
  misses: number;
  /** Reads or writes the server refused with an error (PostgreSQL serialization failures); retried like a miss. */
  errors: number;
  complete: boolean;
  ms: number;
}

/** How one case reads the counter and writes it conditionally on what it read. */
interface Cas {
  setUp(): Promise<void>;
  read(): Promise<{ version: number; n: number }>;
  /** One conditional write from `base`; true when the server says it applied it. */
  write(base: { version: number; n: number }): Promise<boolean>;
}

type Db = ReturnType<Awaited<ReturnType<typeof connectMongo>>['db']>;

function conditionalUpdate(db: Db, op: Exclude<Op, 'versioned (insert)'>): Cas {
  const coll = db.collection<Counter>('counter');
  return {
    setUp: async () => void (await coll.insertOne({ _id: 'c', version: 0, n: 0 })),
    read: async () => {
      const doc = await coll.findOne({ _id: 'c' });
      if (!doc) throw new Error('the counter document is gone');
      return doc;
    },
    write: async (base) => {
      const filter = { _id: 'c', version: base.version };
      const next = { version: base.version + 1, n: base.n + 1 };
      switch (op) {
        case 'replaceOne':
          return (await coll.replaceOne(filter, next)).modifiedCount === 1;
        case 'updateOne $set':
          return (await coll.updateOne(filter, { $set: next })).modifiedCount === 1;
        case 'updateOne $inc':
          return (await coll.updateOne(filter, { $inc: { version: 1, n: 1 } })).modifiedCount === 1;
        case 'findOneAndUpdate':
          return (await coll.findOneAndUpdate(filter, { $set: next }, { returnDocument: 'after' })) !== null;
      }
    },
  };
}

function versioned(coll: VersionedCollection<{ key: string }>): Cas {
  const value = (n: number) => ({ fields: { key: 'c' }, json: JSON.stringify({ n }) });
  return {
    setUp: async () => void (await coll.create(value(0))),
    read: async () => {
      const doc = await coll.get('c');
      if (!doc) throw new Error('the counter document is gone');
      return { version: doc.version, n: (JSON.parse(doc.json) as { n: number }).n };
    },
    write: async (base) => (await coll.update(value(base.n + 1), base.version)).ok,
  };
}

async function runCase(url: string, backend: string, op: Op): Promise<CaseResult> {
  const client = await connectMongo(url, 'default', { maxPoolSize: WRITERS + 2 });
  const db = client.db(`cas_probe_${randomBytes(3).toString('hex')}`);
  const cas = op === 'versioned (insert)' ? versioned(new VersionedCollection(db, 'counter', { keyField: 'key' })) : conditionalUpdate(db, op);
  try {
    await cas.setUp();
    const bases: number[] = [];
    let misses = 0;
    let errors = 0;
    const started = Date.now();
    const deadline = started + CASE_DEADLINE_MS;
    let complete = true;
    const writer = async () => {
      for (let r = 0; r < ROUNDS; r++) {
        for (let attempt = 0; ; attempt++) {
          if (Date.now() > deadline) return void (complete = false);
          // A refused read or write (a serialization failure) is counted and retried like a miss.
          const outcome = await cas
            .read()
            .then(async (base) => ({ base, applied: await cas.write(base) }))
            .catch(() => undefined);
          if (outcome?.applied) {
            bases.push(outcome.base.version);
            break;
          }
          if (outcome) misses += 1;
          else errors += 1;
          await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt)));
        }
      }
    };
    await Promise.all(Array.from({ length: WRITERS }, () => writer()));
    const applied = (await cas.read()).n;
    const result: CaseResult = { backend, op, acknowledged: bases.length, applied, lost: Math.max(0, bases.length - applied), appliedUnacknowledged: Math.max(0, applied - bases.length), sameBaseWins: bases.length - new Set(bases).size, misses, errors, complete, ms: Date.now() - started };
    console.log(`${backend.padEnd(23)} ${op.padEnd(18)} acknowledged ${result.acknowledged}, applied ${applied}, lost ${result.lost}, applied unacknowledged ${result.appliedUnacknowledged}, same-base wins ${result.sameBaseWins}, misses ${misses}, errors ${errors}${complete ? '' : ' (incomplete)'}, ${round(result.ms / 1000, 1)} s`);
    return result;
  } finally {
    await db.dropDatabase().catch(() => undefined);
    await client.close();
  }
}

interface Server {
  url: string;
  stop(): Promise<void>;
}

const run = promisify(execFile);
const psql = (sql: string) => run('psql', [PG_URL + '/postgres', '-v', 'ON_ERROR_STOP=1', '-qAtc', sql], { timeout: PG_TIMEOUT_MS });

/**
 * FerretDB on a fresh PostgreSQL database, dropped afterwards; `{ skipped }` with the reason when
 * PostgreSQL cannot be reached. `serializable` makes every PostgreSQL transaction of FerretDB's run at
 * that isolation level (a connection parameter), to see whether the database can close the race.
 */
async function startFerretOnPostgres(serializable: boolean): Promise<Server | { skipped: string }> {
  const dbName = `pw_cas_probe_${randomBytes(4).toString('hex')}`;
  try {
    await psql(`CREATE DATABASE ${dbName}`);
  } catch (err) {
    return { skipped: `PostgreSQL at ${PG_URL} cannot be reached: ${errorMessage(err).split('\n')[0] ?? ''}` };
  }
  const dropDb = () => psql(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).then(() => undefined);
  const stateDir = await mkdtemp(join(tmpdir(), 'pw-ferretdb-pg-'));
  try {
    const port = await freePort();
    const proc = await startProcess({
      name: 'ferretdb-pg',
      command: requireBinary('ferretdb'),
      args: ['--handler=postgresql', `--postgresql-url=${PG_URL}/${dbName}${serializable ? '?default_transaction_isolation=serializable' : ''}`, `--listen-addr=127.0.0.1:${port}`, '--telemetry=disable', '--debug-addr=-', `--state-dir=${stateDir}`],
      cwd: stateDir,
      readyCheck: () => canConnect('127.0.0.1', port),
      readyTimeoutMs: 20_000,
    });
    return {
      url: `mongodb://127.0.0.1:${port}/?retryWrites=false&directConnection=true`,
      async stop() {
        await proc.stop(10_000);
        await dropDb();
        await rm(stateDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await dropDb().catch(() => undefined);
    await rm(stateDir, { recursive: true, force: true });
    throw err;
  }
}

export async function mongoCasProbe(): Promise<Record<string, unknown>> {
  const results: CaseResult[] = [];
  const skipped: string[] = [];
  const backends: [string, () => Promise<Server | { skipped: string }>][] = [
    ['sqlite', () => startFerretDb()],
    ['postgresql', () => startFerretOnPostgres(false)],
    ['postgresql-serializable', () => startFerretOnPostgres(true)],
  ];
  for (const [backend, start] of backends) {
    const server = await start();
    if ('skipped' in server) {
      console.log(`${backend}: skipped, ${server.skipped}`);
      skipped.push(`${backend}: ${server.skipped}`);
      continue;
    }
    try {
      for (const op of OPS) results.push(await runCase(server.url, backend, op));
    } finally {
      await server.stop();
    }
  }
  const atomic = (r: CaseResult) => r.complete && r.acknowledged === WRITERS * ROUNDS && r.lost === 0 && r.sameBaseWins === 0;
  return {
    name: 'mongo-cas',
    server: 'ferretdb-1.24.2',
    writers: WRITERS,
    rounds: ROUNDS,
    results,
    atomic: results.filter(atomic).map((r) => `${r.backend} ${r.op}`),
    skipped,
    loadAvg1m: round(loadavg()[0] ?? 0, 2),
  };
}
