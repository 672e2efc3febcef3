// The public surface of @pipewright/kit: what every service shares.
export { RetryableError, TerminalError, ConfigError, errorMessage } from './errors.js';
export { parseEnv, envInt, envBool, envList, commonEnv } from './config.js';
export type { CommonConfig } from './config.js';
export { announcer, createLogger, lazyChild } from './logger.js';
export type { Logger } from './logger.js';
export { connectNats, connectionOptions } from './bus/connect.js';
export { ensureStream, ensurePullConsumer, ensureTopology, verifyStream } from './bus/topology.js';
export type { PullConsumerDef, StreamOptions } from './bus/topology.js';
export { publishJson, encodeJson, buildHeaders } from './bus/publish.js';
export { tracedPublish } from './bus/publish-span.js';
export type { PublishOptions } from './bus/publish.js';
export { ACK, outcomeOfError, redeliveryDelayMs, settle } from './bus/outcome.js';
export type { Outcome } from './bus/outcome.js';
export { sendToDlq } from './bus/dlq.js';
export { registerConsumerLag, CONSUMER_LAG_METRICS, CONSUMER_LAG_MIN_INTERVAL_MS } from './bus/consumer-lag.js';
export type { ConsumerLag } from './bus/consumer-lag.js';
// The metric types of prom-client, whose registry every service gets (ServiceRuntime.registry): a service
// declares its metrics with these and needs no prom-client dependency of its own.
export { Counter, Gauge, Histogram, Registry } from 'prom-client';
export { startConsumer } from './bus/consume.js';
export { TaskLog, TaskLogEntry, isFinal } from './bus/task-log.js';
export type { LoggedEntry, AppendResult } from './bus/task-log.js';
export type { ConsumeOptions, ConsumerHandle, MessageContext, InvalidHook, DeliveryTracker } from './bus/consume.js';
export { startTracing } from './telemetry/tracing.js';
export { derivedSpanId, withSpanId } from './telemetry/span-ids.js';
export {
  ATTR_ERROR_TYPE,
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_PROVIDER_NAME,
  ATTR_GEN_AI_REQUEST_MAX_TOKENS,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_GEN_AI_RESPONSE_FINISH_REASONS,
  ATTR_GEN_AI_RESPONSE_ID,
  ATTR_GEN_AI_RESPONSE_MODEL,
  ATTR_GEN_AI_TOKEN_TYPE,
  ATTR_GEN_AI_TOOL_NAME,
  ATTR_GEN_AI_USAGE_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_MESSAGING_CONSUMER_GROUP_NAME,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_MESSAGING_NATS_DELIVERY_COUNT,
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
  ATTR_SERVER_ADDRESS,
  ATTR_URL_PATH,
  GEN_AI_OPERATION_NAME_VALUE_CHAT,
  GEN_AI_OPERATION_NAME_VALUE_EXECUTE_TOOL,
  GEN_AI_TOKEN_TYPE_VALUE_INPUT,
  GEN_AI_TOKEN_TYPE_VALUE_OUTPUT,
  MESSAGING_OPERATION_TYPE_VALUE_PROCESS,
  MESSAGING_OPERATION_TYPE_VALUE_SEND,
  MESSAGING_SYSTEM_VALUE_NATS,
  METRIC_GEN_AI_CLIENT_OPERATION_DURATION,
  METRIC_GEN_AI_CLIENT_TOKEN_USAGE,
} from './telemetry/semconv.js';
export type { Tracing, TracingOptions } from './telemetry/tracing.js';
export { injectTrace, extractTrace, extractTraceFromHttp, contextFromTraceparent, currentTraceparent, currentTraceId } from './telemetry/propagation.js';
export { startOpsServer } from './service/http.js';
export type { OpsServer, RouteHandler } from './service/http.js';
export { Shutdown } from './service/shutdown.js';
export type { ShutdownState } from './service/shutdown.js';
export { runService, EXIT_STARTUP_FAILED } from './service/runtime.js';
export { retryStartup, startupDelayMs, StartupError, STARTUP_RETRY_BASE_MS, STARTUP_RETRY_MAX_MS } from './service/startup-retry.js';
export type { StartupRetryOptions } from './service/startup-retry.js';
export { isTransient, TRANSIENT_JS_API_CODES } from './service/transient.js';
export { startLoopDelayMonitor, registerLoopDelayGauges, loopDelayOf, LOOP_DELAY_METRICS, LOOP_DELAY_RESOLUTION_MS, LOOP_DELAY_WINDOW_MS } from './service/loop-delay.js';
export type { LoopDelay, LoopDelayMonitor, LoopDelayGauges } from './service/loop-delay.js';
export { configOrExit, EXIT_CONFIG } from './service/config-or-exit.js';
export type { ServiceRuntime, ServiceParts } from './service/runtime.js';
export { openStores } from './store/open.js';
export { openKvStores, summarize } from './store/kv.js';
export { ToolRegistry, TOOL_REGISTRY_MAX_ENTRY_BYTES } from './store/tool-registry.js';
export type { ToolRegistryOptions } from './store/tool-registry.js';
export type { Stores, RunStore, RunSummary, RunFilter, Versioned, WriteResult, BlobStore, DurabilityProfile, RetentionMode } from './store/types.js';
export type { StoreConfig } from './store/open.js';
export type { KvStoreOptions } from './store/kv.js';
export { openMongoStores, connectMongo } from './store/mongo/open.js';
export type { MongoStoreOptions, MongoStores } from './store/mongo/open.js';
export { sweepFinishedRuns, startRetentionSweeper, SWEEP_MAX_RUNS } from './store/retention.js';
export type { SweepOptions, SweepResult, RetentionSweeper, RetentionSweeperOptions } from './store/retention.js';
export { externalize, checkIn, resolveClaim, DEFAULT_CLAIM_THRESHOLD_BYTES } from './store/claim-check.js';
export type { Externalized } from './store/claim-check.js';
export { BlobIntegrityError } from './store/blob-ref.js';
export { VersionedCollection } from './store/mongo/versioned.js';
export type { VersionDoc, VersionSummary, NewVersion, VersionedOptions, VersionListOptions } from './store/mongo/versioned.js';
export { BUS_ROLES, EXTRA_BUCKETS, inboxPrefixFor, permissionsFor, renderAuthorization, generateRoleKeys, publicKeysOf, seedFileName, writeRoleKeys } from './bus/auth/index.js';
export { MessageSigner, SIGNATURE_HEADERS, seedFromFileText, verifySignature } from './bus/auth/index.js';
export type { BusRole, PermissionOptions, RolePermissions, RolePublicKeys, RoleKey, RoleKeys, WrittenAuth, SignatureVerdict } from './bus/auth/index.js';
export { TokenSet, loadTokenSet, MIN_TOKEN_LENGTH, Sessions, newLoginNonce, equalText, bearerToken, signWebhook, verifyWebhookSignature, WEBHOOK_TOLERANCE_MS, startHttpServer, traceRequests } from './web/index.js';
export { Html, html, escapeHtml, safeHref, contentSecurityPolicy, securityHeaders, sameOrigin, isHttps, formField } from './web/index.js';
export type { TokenHolder, TokenFormat, Session, SessionOptions, SignatureCheck, RequestLike, HttpServer, TracedRequest } from './web/index.js';
