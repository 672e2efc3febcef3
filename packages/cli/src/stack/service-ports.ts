// Where the local stack's processes report the ports they bound. Each is started on port 0 and says in
// one JSON line which port it got, so stacks and test files running side by side never race for a
// port picked as free (issue 10). The lines print at any log level but `silent` (kit's `announcer`).
import { portFromJsonLog } from '@pipewright/devstack';
import type { ReadinessOptions } from '@pipewright/devstack';

/** Every service's ops server (/healthz, /readyz, /metrics): `{"port":N,"msg":"ops server listening"}`. */
export const OPS_PORT = portFromJsonLog('ops server listening');
/** The approver's API and web inbox: `{"port":N,"msg":"approver API and inbox listening"}`. */
export const APPROVER_API_PORT = portFromJsonLog('approver API and inbox listening');
/** The console's runs API (and dashboard): `{"port":N,"msg":"console API listening"}`. */
export const CONSOLE_API_PORT = portFromJsonLog('console API listening');
/** The model simulator's ready line: `{"msg":"llm-sim listening","port":N}`. */
export const SIM_PORT = portFromJsonLog('llm-sim listening');

/** The environment that puts a service's ops server on a loopback port of the kernel's choosing. */
export const OPS_PORT_ENV: Readonly<Record<string, string>> = { PW_HTTP_PORT: '0', PW_HTTP_HOST: '127.0.0.1' };

/**
 * Readiness of a service started with OPS_PORT_ENV, the way Kubernetes sees it: its ops port is read
 * from its output (as `ops`, with `more` ports besides), then /readyz must answer 200.
 */
export function opsReadiness(more: ReadinessOptions['reportedPorts'] = {}): ReadinessOptions {
  return {
    reportedPorts: { ops: OPS_PORT, ...more },
    readyUrl: (port) => `http://127.0.0.1:${port('ops')}/readyz`,
  };
}
