// @pipewright/cli as a library: what tests, benchmarks and scripts use to drive a stack.
export { LocalStack, ALL_SERVICES, REPO_ROOT, SIM_PRICES } from './stack/local-stack.js';
export type { LocalStackOptions, ServiceName } from './stack/local-stack.js';
export { SimClient } from './stack/sim-client.js';
export { startSimProcess } from './stack/sim-process.js';
export type { SimProcess, SimProcessOptions } from './stack/sim-process.js';
export { APPROVER_API_PORT, OPS_PORT, OPS_PORT_ENV, SIM_PORT, opsReadiness } from './stack/service-ports.js';
export { submitRun, newRunId, SpecError } from './commands/submit.js';
export { watchRun } from './commands/watch.js';
export { readRunEvents, decisionTrail } from './commands/run-events.js';
export { cancelRun, cancelByLabels } from './commands/cancel.js';
export type { RunEnd } from './commands/watch.js';
export { renderEvent } from './render.js';
export { openBus } from './connect.js';
export type { Bus } from './connect.js';
export { readPipelineFile, readInput } from './pipeline-file.js';
export { registerApprovalCommands, runApprovalsCommand } from './commands/approvals.js';
export type { ApproverSettings } from './commands/approvals.js';
