// The public surface of @pipewright/tools: write a tool (serveTool), call one (callTool), keep its
// effects once (receipts), and the built-in http tool. The wire format is in @pipewright/contracts.
export { serveTool } from './serve/serve-tool.js';
export { DEFAULT_TOOL_CONCURRENCY, DEFAULT_TOOL_TIMEOUT_MS, DEFAULT_STOP_GRACE_MS } from './serve/spec.js';
export type { ToolSpec, ToolContext, ToolHandle } from './serve/spec.js';
export type { SchemaLike, ValueOf } from './serve/schema.js';
export { ToolCallError, ToolRetryableError, toToolError } from './errors.js';
export { callTool } from './client/call-tool.js';
export type { CallToolOptions } from './client/call-tool.js';
export { describeTool } from './client/describe-tool.js';
export type { DescribeOutcome } from './client/describe-tool.js';
export { memoryReceipts, DEFAULT_MEMORY_RECEIPTS } from './receipts/memory.js';
export { kvReceipts, TOOL_RECEIPTS_BUCKET, TOOL_RECEIPTS_TTL_MS } from './receipts/kv.js';
export type { KvReceiptOptions } from './receipts/kv.js';
export type { ReceiptStore, Claim, ClaimToken } from './receipts/types.js';
export { serveHttpTool, HttpToolArgs, HttpToolResult, HTTP_TOOL_NAME } from './http/tool.js';
export type { HttpToolOptions } from './http/tool.js';
export { guardedFetch } from './http/fetch.js';
export type { FetchRequest, FetchResult } from './http/fetch.js';
export { checkUrl, checkAddresses, HTTP_REFUSALS } from './http/policy.js';
export type { HttpPolicy, ResolvedAddress, Verdict } from './http/policy.js';
export { classifyAddress } from './http/addresses.js';
export type { AddressClass } from './http/addresses.js';
export { parseHostRules, hostMatches, normalizeHost } from './http/hosts.js';
export type { HostRule, HostRules } from './http/hosts.js';
export { systemResolver } from './http/resolve.js';
export type { Resolver } from './http/resolve.js';
export { loadConfig as loadHttpToolConfig } from './http/config.js';
