import { connect, type NatsConnection } from '@nats-io/transport-node';
import { ferretDbAvailable, startFerretDb, startNatsServer, type FerretHandle, type NatsServerHandle } from '@pipewright/devstack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newRecord } from '../src/core/record.js';
import { openKvApproverStores } from '../src/store/kv.js';
import { openMongoApproverStores } from '../src/store/mongo.js';
import type { ApprovalRecord, ApproverStores, AuditEntry } from '../src/store/types.js';
import { request } from './fixtures.js';

/**
 * One conformance suite for both approver stores: NATS KV on a real nats-server, MongoDB on FerretDB
 * (or on a real MongoDB when MONGODB_URL is set).
 */
const mongoUrl = process.env['MONGODB_URL'];
const mongoMissing = !mongoUrl && !ferretDbAvailable();
if (mongoMissing) console.warn('skipping the MongoDB store suite: no ferretdb binary and no MONGODB_URL');

describe.each([
  ['kv', false],
  ['mongo', mongoMissing],
] as const)('approver store conformance: %s', (kind, skip) => {
  let nats: NatsServerHandle | undefined;
  let nc: NatsConnection | undefined;
  let ferret: FerretHandle | undefined;
  let stores: ApproverStores;

  beforeAll(async () => {
    if (skip) return;
    if (kind === 'kv') {
      nats = await startNatsServer();
      nc = await connect({ servers: nats.url });
      stores = await openKvApproverStores(nc);
    } else {
      if (!mongoUrl) ferret = await startFerretDb();
      stores = await openMongoApproverStores(mongoUrl ?? ferret!.url, `approver_conformance_${Date.now()}`);
    }
  });
  afterAll(async () => {
    await stores?.close();
    await nc?.drain();
    await nats?.stop();
    await ferret?.stop();
  });

  const fresh = (over: Parameters<typeof request>[0] = {}) => newRecord(request(over), new Date(), '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');

  it.skipIf(skip)('create is first-write-wins and get returns what was stored, with a version', async () => {
    const { record } = fresh();
    expect(await stores.approvals.create(record)).toBe('created');
    expect(await stores.approvals.create({ ...record, receivedAt: new Date(0).toISOString() })).toBe('exists');
    const got = await stores.approvals.get(record.approvalId);
    expect(got?.value).toEqual(record);
    expect(got?.version).toBeGreaterThan(0);
    expect(await stores.approvals.get('never:stored:1')).toBeUndefined();
  });

  it.skipIf(skip)('update is compare-and-set: a stale version is refused and changes nothing', async () => {
    const { record } = fresh();
    await stores.approvals.create(record);
    const v1 = (await stores.approvals.get(record.approvalId))!;
    const first = await stores.approvals.update({ ...record, notified: true }, v1.version);
    expect(first.ok).toBe(true);
    expect(await stores.approvals.update({ ...record, status: 'decided' }, v1.version)).toEqual({ ok: false, reason: 'conflict' });
    const now = (await stores.approvals.get(record.approvalId))!;
    expect(now.value).toMatchObject({ status: 'pending', notified: true });
    expect(first.ok && now.version).toBe(first.ok ? first.version : -1);
  });

  it.skipIf(skip)('after several updates, a repeated create still finds the approval and only the newest version is listed', async () => {
    const { record } = fresh({ timeoutMs: 1_000, requestedAt: new Date(Date.now() - 60_000).toISOString() });
    await stores.approvals.create(record);
    let v = (await stores.approvals.get(record.approvalId))!.version;
    for (const next of [{ ...record, notified: true }, { ...record, notified: true, status: 'decided' as const, published: true }]) {
      const w = await stores.approvals.update(next, v);
      if (!w.ok) throw new Error('conflict');
      v = w.version;
    }
    expect(await stores.approvals.create(record)).toBe('exists');
    expect((await stores.approvals.get(record.approvalId))?.value.status).toBe('decided');
    expect((await stores.approvals.list({ status: 'pending', limit: 1_000 })).map((r) => r.approvalId)).not.toContain(record.approvalId);
    expect((await stores.approvals.list({ limit: 1_000 })).filter((r) => r.approvalId === record.approvalId)).toHaveLength(1);
    expect((await stores.approvals.due(new Date(), 1_000)).map((r) => r.value.approvalId)).not.toContain(record.approvalId);
  });

  it.skipIf(skip)('a writer that read an older version is refused however many versions came after', async () => {
    const { record } = fresh();
    await stores.approvals.create(record);
    const v1 = (await stores.approvals.get(record.approvalId))!.version;
    let v = v1;
    for (let i = 0; i < 3; i++) {
      const w = await stores.approvals.update({ ...record, receivedAt: new Date(i).toISOString() }, v);
      if (!w.ok) throw new Error('conflict');
      const stale = await stores.approvals.update({ ...record, status: 'decided' }, v);
      expect(stale, `stale write from version ${v}`).toEqual({ ok: false, reason: 'conflict' });
      v = w.version;
    }
    expect(await stores.approvals.update({ ...record, status: 'decided' }, v1)).toEqual({ ok: false, reason: 'conflict' });
    expect((await stores.approvals.get(record.approvalId))?.value.status).toBe('pending');
  });

  it.skipIf(skip)('of many concurrent updates from one version exactly one wins', async () => {
    const { record } = fresh();
    await stores.approvals.create(record);
    const v = (await stores.approvals.get(record.approvalId))!;
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => stores.approvals.update({ ...record, receivedAt: new Date(i * 1000).toISOString() }, v.version)));
    expect(results.filter((r) => r.ok)).toHaveLength(1);
  });

  it.skipIf(skip)('schemas with $-keys and dotted keys survive a round trip', async () => {
    const { record } = fresh({ argumentsSchema: { $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object', properties: { 'a.b': { $ref: '#/$defs/x' } }, $defs: { x: { type: 'string' } } }, action: { kind: 'tool', tool: 't', arguments: { 'a.b': 'c', $where: 1 } } });
    await stores.approvals.create(record);
    expect((await stores.approvals.get(record.approvalId))?.value).toEqual(record);
  });

  it.skipIf(skip)('due lists pending approvals past their deadline and decided ones not yet published', async () => {
    const past = new Date(Date.now() - 60_000).toISOString();
    const overdue = fresh({ timeoutMs: 1_000, requestedAt: past }).record;
    const later = fresh({ timeoutMs: 3_600_000 }).record;
    const never = fresh().record;
    const unpublished: ApprovalRecord = { ...fresh().record, status: 'decided', published: false };
    const published: ApprovalRecord = { ...fresh().record, status: 'decided', published: true };
    for (const r of [overdue, later, never, unpublished, published]) await stores.approvals.create(r);
    const ids = (await stores.approvals.due(new Date(), 1_000)).map((v) => v.value.approvalId);
    expect(ids).toEqual(expect.arrayContaining([overdue.approvalId, unpublished.approvalId]));
    for (const r of [later, never, published]) expect(ids).not.toContain(r.approvalId);
    // after it is published, it is no longer due
    const v = (await stores.approvals.get(unpublished.approvalId))!;
    await stores.approvals.update({ ...unpublished, published: true }, v.version);
    expect((await stores.approvals.due(new Date(), 1_000)).map((x) => x.value.approvalId)).not.toContain(unpublished.approvalId);
    expect((await stores.approvals.due(new Date(), 1)).length).toBeLessThanOrEqual(1);
  });

  it.skipIf(skip)('list filters by status, newest request first, with a limit', async () => {
    const older = fresh({ requestedAt: new Date(Date.now() - 5_000).toISOString() }).record;
    const newer = fresh().record;
    const done: ApprovalRecord = { ...fresh().record, status: 'decided', published: true };
    for (const r of [older, newer, done]) await stores.approvals.create(r);
    const pending = (await stores.approvals.list({ status: 'pending', limit: 1_000 })).map((r) => r.approvalId);
    expect(pending.indexOf(newer.approvalId)).toBeLessThan(pending.indexOf(older.approvalId));
    expect(pending).not.toContain(done.approvalId);
    expect((await stores.approvals.list({ status: 'decided', limit: 1_000 })).map((r) => r.approvalId)).toContain(done.approvalId);
    expect(await stores.approvals.list({ limit: 2 })).toHaveLength(2);
  });

  it.skipIf(skip)('the audit trail is append-only, idempotent per entry, ordered by time, and per approval', async () => {
    const a = fresh();
    const b = fresh();
    const at = (ms: number) => new Date(Date.UTC(2030, 0, 1) + ms).toISOString();
    const entries: AuditEntry[] = [
      { ...a.audit, at: at(0) },
      { approvalId: a.record.approvalId, entryId: 'decided', at: at(20), actor: 'alice', channel: 'inbox', action: 'edited', before: { x: 1 }, after: { $x: 2, 'y.z': 3 } },
      { approvalId: a.record.approvalId, entryId: 'notify-1', at: at(10), actor: 'approver', channel: 'system', action: 'notified', detail: 'slack' },
    ];
    for (const e of entries) await stores.audit.append(e);
    await stores.audit.append({ ...entries[1]!, actor: 'mallory' }); // a retried append stores nothing new
    await stores.audit.append({ ...b.audit, at: at(5) });
    const trail = await stores.audit.list(a.record.approvalId);
    expect(trail.map((e) => e.entryId)).toEqual(['requested', 'notify-1', 'decided']);
    expect(trail[2]).toEqual(entries[1]);
    expect((await stores.audit.list(b.record.approvalId)).map((e) => e.entryId)).toEqual(['requested']);
  });
});
