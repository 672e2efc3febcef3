import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, nkeyAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { startNatsServer, type NatsServerHandle } from '@pipewright/devstack';
import { buckets, SCHEMA_VERSION, streams, toolRegistration } from '@pipewright/contracts';
import { BUS_ROLES, EXTRA_BUCKETS, ensureStream, ToolRegistry, generateRoleKeys, inboxPrefixFor, publicKeysOf, renderAuthorization, type BusRole, type RoleKeys } from '@pipewright/kit';
import { OBJECT_STORE_BLOB_BUCKET } from '../../packages/kit/src/store/object-store-blobs.js';
import { TOOL_RECEIPTS_BUCKET } from '../../packages/tools/src/receipts/kv.js';
import { APPROVER_BUCKETS } from '../../services/approver/src/store/kv.js';
import { BUDGET_BUCKET } from '../../services/budget/src/store/kv.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The bus permissions of every role, against a real nats-server configured with the authorization block
 * `pipewright nats-auth` generates: each forbidden publish and subscribe is refused by the server (and
 * stores nothing), and each role can still do its own job. The forgeries of the issue — a step result,
 * an approval decision, a step command from an outsider — are refused here for every role that is not
 * their author.
 */

const R = 'run-sec-1';
const T = 's1=1';
const forgedResult = `pw.events.${R}.step.completed.${T}`;
const forgedDecision = `pw.events.${R}.approval.decided`;
const stepCommand = 'pw.steps.default.dispatch';
const toolCommand = 'pw.steps.default.tool';
const runEvent = `pw.events.${R}.run.finished`;

/** Publishes every role must be refused, unless it is the role named as the subject's author. */
const PUBLISH_MATRIX: readonly { subject: string; allowed: readonly BusRole[]; what: string }[] = [
  { subject: forgedResult, allowed: ['executor'], what: 'a step result (task log entry)' },
  { subject: `pw.events.${R}.step.started.${T}`, allowed: ['executor'], what: 'a lease on a task' },
  { subject: forgedDecision, allowed: ['approver'], what: 'an approval decision' },
  { subject: stepCommand, allowed: ['planner'], what: 'a step command' },
  { subject: toolCommand, allowed: ['planner'], what: 'a tool-call command' },
  { subject: runEvent, allowed: ['planner'], what: 'a run event' },
  // the planner submits a pipeline step's child run and cancels the children of a run that ended
  { subject: 'pw.runs.submit', allowed: ['client', 'console', 'planner'], what: 'a run request' },
  { subject: 'pw.runs.cancel', allowed: ['client', 'console', 'planner'], what: 'a cancel request' },
  { subject: 'pw.runs.resume', allowed: ['client', 'console'], what: 'a resume request' },
  { subject: 'pw.runs.rerun', allowed: ['client', 'console'], what: 'a re-run request' },
  { subject: 'pw.runs.signal', allowed: ['client', 'console'], what: "a signal (completes a run's signal step)" },
  { subject: `$KV.${buckets.idempotency}.k1`, allowed: ['console'], what: "an idempotency key of the runs API" },
  { subject: 'pw.approvals.request', allowed: ['planner'], what: 'an approval request' },
  { subject: `$KV.${buckets.runs}.${R}`, allowed: ['planner'], what: 'a run checkpoint' },
  { subject: `$JS.API.STREAM.UPDATE.${streams.events.name}`, allowed: ['planner'], what: 'a PW_EVENTS reconfiguration (e.g. sourcing forged messages)' },
  { subject: `$JS.API.STREAM.PURGE.${streams.events.name}`, allowed: ['planner'], what: 'a purge of PW_EVENTS' },
  { subject: `$JS.API.STREAM.MSG.DELETE.${streams.events.name}`, allowed: [], what: 'deleting a stored result' },
  { subject: `$JS.API.STREAM.DELETE.${streams.events.name}`, allowed: [], what: 'deleting PW_EVENTS' },
  { subject: `$JS.API.CONSUMER.DELETE.${streams.steps.name}.executor-default`, allowed: [], what: "deleting an executor pool's consumer" },
  { subject: 'pw.budget.reserve', allowed: ['executor'], what: 'a budget reservation' },
  { subject: `$KV.${buckets.tools}.issue-refund`, allowed: ['tools'], what: "a tool's registry entry (by a tool this deployment serves)" },
  { subject: `$KV.${buckets.tools}.transfer-funds`, allowed: [], what: "the registry entry of a tool the deployment does not serve (a tool passing for another)" },
];

/** Subscriptions that would let a role steal another's work or answer in its place. */
const SUBSCRIBE_MATRIX: readonly { subject: string; allowed: readonly BusRole[]; what: string }[] = [
  { subject: 'pw.budget.reserve', allowed: ['budget'], what: 'answering budget requests' },
  { subject: 'pw.tools.issue-refund', allowed: ['tools'], what: 'answering a tool' },
  { subject: 'pw.executors.x1.ping', allowed: ['executor'], what: "answering an executor's liveness ping" },
  { subject: 'pw.events.>', allowed: [], what: 'reading every event with a plain subscription' },
];

describe('bus permissions per role, enforced by a real nats-server', () => {
  let server: NatsServerHandle;
  let keys: RoleKeys;
  const conns = new Map<BusRole, NatsConnection>();
  let admin: JetStreamManager;

  const as = async (role: BusRole): Promise<NatsConnection> => {
    const authenticator = nkeyAuthenticator(new TextEncoder().encode(keys[role].seed));
    const nc = await connect({ servers: server.url, authenticator, ...(role === 'admin' ? {} : { inboxPrefix: inboxPrefixFor(keys[role].publicKey) }) });
    conns.set(role, nc);
    return nc;
  };
  const stored = async () => (await admin.streams.info(streams.events.name)).state.messages + (await admin.streams.info(streams.steps.name)).state.messages;

  beforeAll(async () => {
    keys = generateRoleKeys();
    server = await startNatsServer({ extraConfig: renderAuthorization(publicKeysOf(keys), { tools: ['issue-refund'] }) });
    for (const role of BUS_ROLES) await as(role);
    admin = await jetstreamManager(conns.get('admin')!);
    for (const def of Object.values(streams)) await ensureStream(admin, def);
  });
  afterAll(async () => {
    await Promise.all([...conns.values()].map((nc) => nc.close()));
    await server?.stop();
  });

  it('an unauthenticated client cannot connect at all', async () => {
    await expect(connect({ servers: server.url, reconnect: false })).rejects.toThrow(/Authorization Violation/i);
  });

  it('the buckets the permissions name are the buckets the services open', () => {
    expect(EXTRA_BUCKETS.blobs).toBe(OBJECT_STORE_BLOB_BUCKET);
    expect(EXTRA_BUCKETS.budget).toBe(BUDGET_BUCKET);
    expect([...EXTRA_BUCKETS.approvals].sort()).toEqual(Object.values(APPROVER_BUCKETS).sort());
    expect(buckets.toolReceipts).toBe(TOOL_RECEIPTS_BUCKET);
  });

  for (const { subject, allowed, what } of PUBLISH_MATRIX) {
    const refused = BUS_ROLES.filter((r) => r !== 'admin' && !allowed.includes(r));
    it(`${what} (${subject}): refused for ${refused.join(', ')}`, async () => {
      const before = await stored();
      for (const role of refused) {
        const nc = conns.get(role)!;
        await expect(nc.request(subject, '{"forged":true}', { timeout: 5_000 }), `${role} publishing ${subject}`).rejects.toThrow(/Permissions Violation for Publish/);
      }
      expect(await stored()).toBe(before);
    });
  }

  for (const { subject, allowed, what } of SUBSCRIBE_MATRIX) {
    const refused = BUS_ROLES.filter((r) => r !== 'admin' && !allowed.includes(r));
    it(`${what} (${subject}): subscription refused for ${refused.join(', ')}`, async () => {
      for (const role of refused) {
        const nc = conns.get(role)!;
        const sub = nc.subscribe(subject);
        await nc.flush();
        // The server answers a refused SUB with -ERR, which closes the subscription.
        await expect.poll(() => sub.isClosed(), { timeout: 5_000, interval: 20 }).toBe(true);
      }
      for (const role of allowed) {
        const nc = conns.get(role)!;
        const sub = nc.subscribe(subject);
        await nc.flush();
        expect(sub.isClosed(), `${role} subscribing ${subject}`).toBe(false);
        sub.unsubscribe();
      }
    });
  }

  it("a role reads only its own replies: everyone's inboxes and another role's are refused, its own allowed", async () => {
    for (const role of BUS_ROLES.filter((r) => r !== 'admin')) {
      const nc = conns.get(role)!;
      const other = role === 'planner' ? 'executor' : 'planner';
      for (const subject of ['_INBOX.>', `${inboxPrefixFor(keys[other].publicKey)}.>`]) {
        const sub = nc.subscribe(subject);
        await nc.flush();
        await expect.poll(() => sub.isClosed(), { timeout: 5_000, interval: 20 }).toBe(true);
      }
      const own = nc.subscribe(`${inboxPrefixFor(keys[role].publicKey)}.x`);
      await nc.flush();
      expect(own.isClosed(), `${role}: its own inbox`).toBe(false);
      own.unsubscribe();
    }
  });

  it('each author can publish what it owns: a result (executor), a decision (approver), a command (planner), a request (client)', async () => {
    const before = (await admin.streams.info(streams.events.name)).state.messages;
    await jetstream(conns.get('executor')!).publish(forgedResult, '{}');
    await jetstream(conns.get('approver')!).publish(forgedDecision, '{}');
    await jetstream(conns.get('planner')!).publish(runEvent, '{}');
    expect((await admin.streams.info(streams.events.name)).state.messages).toBe(before + 3);
    await jetstream(conns.get('planner')!).publish(stepCommand, '{}');
    await jetstream(conns.get('client')!).publish('pw.runs.submit', '{}');
  });

  it('the tool registry: the planner creates and reads it, a tool writes its own entry, the console lists it, a client reads it', async () => {
    const planner = await ToolRegistry.open(conns.get('planner')!, { create: true });
    const entry = toolRegistration({ schemaVersion: SCHEMA_VERSION, name: 'issue-refund', description: 'Refunds an order', input: { type: 'object' }, version: '1' }, new Date());
    await (await ToolRegistry.forWriting(conns.get('tools')!)).put(entry);
    expect(await planner.get('issue-refund')).toEqual(entry);
    expect(await (await ToolRegistry.open(conns.get('console')!)).list()).toEqual({ tools: [entry], invalid: [] });
    expect(await (await ToolRegistry.open(conns.get('client')!)).get('issue-refund')).toEqual(entry);
    // A tool cannot create the bucket either (only the topology's owner does).
    await expect(conns.get('tools')!.request(`$JS.API.STREAM.CREATE.KV_${buckets.tools}`, '{}', { timeout: 5_000 })).rejects.toThrow(/Permissions Violation for Publish/);
  });
});
