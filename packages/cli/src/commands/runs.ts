import type { JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { RunStatus } from '@pipewright/contracts';
import { openStores } from '@pipewright/kit';
import type { CliConfig } from '../config.js';
import { decisionTrail, readRunEvents } from './run-events.js';

/** `pipewright runs list|show`: reads the store the services write (`PW_STORE`). */
export async function listRuns(cfg: CliConfig, nc: NatsConnection, filter: { status?: RunStatus; pipeline?: string; limit?: number }): Promise<string> {
  const stores = await openStores(cfg, nc);
  const runs = await stores.runs.list(filter);
  if (runs.length === 0) return 'no runs';
  return runs.map((r) => `${r.runId.padEnd(28)} ${r.status.padEnd(17)} ${r.pipeline.padEnd(24)} ${r.createdAt}`).join('\n');
}

export async function showRun(cfg: CliConfig, nc: NatsConnection, js: JetStreamClient, runId: string): Promise<string> {
  const stores = await openStores(cfg, nc);
  const run = await stores.runs.get(runId);
  if (!run) return `no run ${runId}`;
  const s = run.value;
  const lines = [`run ${s.runId}  ${s.status}  pipeline ${s.pipeline.name}  tenant ${s.tenant}`, `created ${s.createdAt}  updated ${s.updatedAt}${s.reason ? `  reason: ${s.reason}` : ''}`, 'steps:'];
  for (const [id, st] of Object.entries(s.steps))
    lines.push(`  ${id.padEnd(16)} ${st.status.padEnd(11)} attempt ${st.attempt}${st.model ? `  ${st.model.model}` : ''}${st.usage ? `  tokens ${st.usage.totalTokens}` : ''}${st.error ? `  ${st.error.code}: ${st.error.message}` : ''}`);
  lines.push('decisions:');
  for (const d of decisionTrail(await readRunEvents(js, runId))) lines.push(`  #${d.seq} ${d.at.slice(11, 23)} on ${d.on}: ${d.action} ${d.stepIds.join(',')} (${d.reason})`);
  return lines.join('\n');
}
