// What the console's HTTP layers (the runs API and the dashboard) ask of the rest of the service: the
// read model (an index of every run, kept from PW_EVENTS), a reader of one run's whole state, and the
// operations that publish requests to the planner. The API and the dashboard depend on these, never on
// NATS or a store directly, so both show and do exactly the same things.
import type {
  ApiError,
  BatchStats,
  CancelAccepted,
  Labels,
  RerunAccepted,
  RerunBody,
  SignalAccepted,
  SignalBody,
  ResumeAccepted,
  ResumeBody,
  RunDetail,
  RunEvent,
  RunListPage,
  RunListQuery,
  RunRequestInput,
  RunSummary,
  SubmitAccepted,
  ToolList,
} from '@pipewright/contracts';

/** An operation's outcome: the HTTP status it answers with and its body. */
export type OpResult<T> = { ok: true; status: 200 | 202; value: T } | { ok: false; status: 400 | 404 | 409 | 413 | 503; error: ApiError['error'] };

/** The index of runs (in memory, fed by the event stream). Queries never read the store. */
export interface RunsReadModel {
  /** A page of runs, newest first; a bad cursor or status is an error naming it. */
  list(query: RunListQuery): OpResult<RunListPage>;
  /** Progress of every run carrying all of `labels`. */
  batch(labels: Labels): BatchStats;
  /** The summary of one run, if the index has it. */
  summary(runId: string): RunSummary | undefined;
  /** Calls `listener` with each summary that changes from now on; returns the unsubscribe. */
  subscribe(listener: (summary: RunSummary) => void): () => void;
  /** True once the index has caught up with the stream as it was at start-up. */
  readonly ready: boolean;
}

/** One run's whole state: the checkpoint, its outputs (claim checks resolved) and its decision trail. */
export interface RunReader {
  get(runId: string): Promise<RunDetail | undefined>;
  /**
   * The run's events from the start, then live ones until `signal` aborts (SSE). `afterSeq` resumes
   * after a stream sequence (an SSE `Last-Event-ID`). Ends (undefined) with the run's `run.finished`.
   */
  events(runId: string, opts: { afterSeq?: number; signal: AbortSignal }): AsyncIterable<{ seq: number; event: RunEvent }>;
}

/** Who asks for an operation (the token's name), for the run's decision trail and the logs. */
export interface Actor {
  name: string;
}

/** What an operator may do to runs: each publishes one request to the planner (pw.runs.*). */
export interface RunOperator {
  /** `idempotencyKey`: the same key with the same body answers the first run (200), with another body 409. */
  submit(request: RunRequestInput, opts: { idempotencyKey?: string; actor: Actor }): Promise<OpResult<SubmitAccepted>>;
  cancel(runId: string, reason: string | undefined, actor: Actor): Promise<OpResult<CancelAccepted>>;
  cancelByLabels(labels: Labels, reason: string | undefined, actor: Actor): Promise<OpResult<CancelAccepted>>;
  resume(runId: string, body: ResumeBody, actor: Actor): Promise<OpResult<ResumeAccepted>>;
  rerun(runId: string, body: RerunBody, actor: Actor): Promise<OpResult<RerunAccepted>>;
  /** `idempotencyKey` stands for the signal id when the body has none: the same key sends the signal once. */
  signal(runId: string, name: string, body: SignalBody, opts: { idempotencyKey?: string; actor: Actor }): Promise<OpResult<SignalAccepted>>;
}

/** What a bearer token (or a dashboard session) may do: `read` sees runs, `operate` also changes them. */
export type ConsoleRole = 'read' | 'operate';

/** Checks presented tokens (constant time); undefined for an unknown token. */
export interface Authenticator {
  verify(token: string): { name: string; role: ConsoleRole } | undefined;
  /** A digest of the whole token set, to derive a session key from when none is configured. */
  readonly fingerprint: Buffer;
}

/** The tool registry, read-only: what each tool registered about itself. */
export interface ToolsReader {
  list(): Promise<OpResult<ToolList>>;
}

/** Everything the HTTP layers are built from. */
export interface ConsolePorts {
  auth: Authenticator;
  model: RunsReadModel;
  reader: RunReader;
  operator: RunOperator;
  /** The tool registry (`GET /tools`), when the service has one. */
  tools?: ToolsReader;
  /** Jaeger's UI (`<url>/trace/<traceId>`), when configured. */
  jaegerUrl?: string;
  /** The approver's inbox, to link pending approvals to, when configured. */
  inboxUrl?: string;
}
