// @pipewright/devstack: real servers and processes for tests, the demo and benchmarks, on ports they
// bind themselves (port 0) and report, with temporary storage. See README.md.
export { findBinary, requireBinary, MIN_NATS_SERVER_VERSION } from './binaries.js';
export type { BinaryName } from './binaries.js';
export { killAllChildren, liveChildCount } from './children.js';
export { binDir } from './config.js';
export { BinaryNotFoundError, PortsTakenError, ProcessExitedError, WaitTimeoutError } from './errors.js';
export { ferretDbAvailable, startFerretDb } from './ferretdb.js';
export type { FerretDbOptions, FerretHandle } from './ferretdb.js';
export { jaegerAvailable, jaegerConfig, startJaeger } from './jaeger.js';
export type { JaegerHandle, JaegerOptions, JaegerPorts } from './jaeger.js';
export { startNatsCluster } from './nats-cluster.js';
export type { NatsClusterHandle, NatsClusterNode, NatsClusterOptions } from './nats-cluster.js';
export { startNatsServer } from './nats-server.js';
export type { NatsServerHandle, NatsServerOptions } from './nats-server.js';
export { freePort, isAddressInUse, retryWhilePortsTaken } from './ports.js';
export { canConnect, httpGet } from './probes.js';
export type { HttpResponse } from './probes.js';
export { startProcess } from './process.js';
export type { ProcessHandle, StartProcessOptions } from './process.js';
export type { ReadinessOptions } from './readiness.js';
export { portFromJsonLog, portFromLine } from './reported-ports.js';
export type { PortLookup, PortReader } from './reported-ports.js';
export { Stack } from './stack.js';
export type { StackOptions } from './stack.js';
export { sleep, waitFor } from './wait.js';
export type { WaitForOptions } from './wait.js';
