// @pipewright/console as a library: the ports its HTTP layers are built on. The service starts from main.ts.
export type { OpResult, RunsReadModel, RunReader, RunOperator, Actor, ConsolePorts, ConsoleRole, Authenticator } from './ports.js';
