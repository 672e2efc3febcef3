import { beforeEach, describe, expect, it } from 'vitest';
import type { DashboardClient } from './support/dashboard-client.js';
import { MemoryConsole, operateAndRead, runDetail } from './support/dashboard-ports.js';

const EVIL = `<script>alert("x")</script>`;

/** Sending a run a signal from its page: the button while a step waits, the form, the refusals. */
describe('dashboard: sending a signal', () => {
  let ports: MemoryConsole;
  let olivia: DashboardClient;
  let rita: DashboardClient;
  beforeEach(async () => {
    ports = new MemoryConsole();
    ({ olivia, rita } = await operateAndRead(ports));
    ports.put(
      runDetail({
        runId: 'r-wait',
        stepList: [
          { id: 'draft', kind: 'llm', needs: [], status: 'succeeded', attempt: 1 },
          { id: 'go', kind: 'signal', needs: ['draft'], status: 'dispatched', attempt: 1, signal: { name: 'go-ahead', since: '2026-05-01T12:00:01.000Z', until: '2026-05-01T13:00:01.000Z' } },
        ],
      }),
    );
  });

  it('an operate session sees the button while a step waits, and the form lists the signals waited for', async () => {
    expect(await (await olivia.get('/runs/r-wait')).text()).toContain('href="/runs/r-wait/confirm/signal"');
    ports.put(runDetail({ runId: 'r-plain' }));
    expect(await (await olivia.get('/runs/r-plain')).text()).not.toContain('confirm/signal');
    const form = await (await olivia.get('/runs/r-wait/confirm/signal')).text();
    expect(form).toContain('value="go-ahead" checked');
    expect(form).toContain('step go, waits until 2026-05-01T13:00:01.000Z');
    expect(form).toContain('name="payload"');
  });

  it('sends the signal with its JSON payload and shows the run again; empty sends null', async () => {
    const csrf = await olivia.csrf('/runs/r-wait/confirm/signal');
    const res = await olivia.post('/runs/r-wait/signal', { _csrf: csrf, name: 'go-ahead', payload: '{"approved": true, "note": "ok"}' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/runs/r-wait?done=signal');
    await olivia.post('/runs/r-wait/signal', { _csrf: csrf, name: 'go-ahead', payload: '' });
    expect(ports.operations).toEqual([
      { op: 'signal', runId: 'r-wait', actor: 'olivia', body: { payload: { approved: true, note: 'ok' } } },
      { op: 'signal', runId: 'r-wait', actor: 'olivia', body: { payload: null } },
    ]);
    expect(await (await olivia.get('/runs/r-wait?done=signal')).text()).toContain('Signal sent');
  });

  it('a payload that is not JSON, or no signal chosen, shows the form again with why (400), escaped, and sends nothing', async () => {
    const csrf = await olivia.csrf('/runs/r-wait/confirm/signal');
    const bad = await olivia.post('/runs/r-wait/signal', { _csrf: csrf, name: 'go-ahead', payload: `{not json ${EVIL}` });
    expect(bad.status).toBe(400);
    const text = await bad.text();
    expect(text).toContain('that is not JSON');
    expect(text).not.toContain(EVIL);
    expect((await olivia.post('/runs/r-wait/signal', { _csrf: csrf, payload: '1' })).status).toBe(400);
    expect(ports.operations).toEqual([]);
  });

  it('a read session has no button and gets 403 on the form and the post', async () => {
    expect(await (await rita.get('/runs/r-wait')).text()).not.toContain('confirm/signal');
    expect((await rita.get('/runs/r-wait/confirm/signal')).status).toBe(403);
    expect((await rita.post('/runs/r-wait/signal', { _csrf: await rita.csrf(), name: 'go-ahead', payload: '1' })).status).toBe(403);
    expect(ports.operations).toEqual([]);
  });
});
