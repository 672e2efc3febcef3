// Public surface of @pipewright/llm-sim: an OpenAI-compatible model simulator with fault injection.
export { startSimulator } from './server.js';
export type { SimulatorHandle, SimulatorOptions } from './server.js';
export { loadSimConfig, parseSimConfig, SimConfigError } from './load-config.js';
export { FAULT_KINDS, SimConfigSchema } from './sim-config.js';
export type { FaultKind, FaultsConfig, LatencyConfig, PerModelConfig, ScriptEntry, ScriptReply, SimConfig } from './sim-config.js';
export type { SimCounters } from './counters.js';
export type { Outcome } from './faults.js';
export { HEADERS, OUTCOME_HEADER } from './chat.js';
export { generateFromSchema } from './schema-gen.js';
export { estimateTokens } from './tokens.js';
