// @pipewright/approver as a library: its stores (for tests and tools), the pure decision core, and the
// signature helpers receivers of its webhooks use. The service itself starts from main.ts.
export { openApproverStores } from './store/open.js';
export { openKvApproverStores, APPROVER_BUCKETS } from './store/kv.js';
export { openMongoApproverStores, APPROVER_COLLECTIONS } from './store/mongo.js';
export { ApprovalRecord, AuditEntry, ApprovalStatus, AuditAction, isOpen, isDue } from './store/types.js';
export type { ApprovalStore, AuditStore, ApproverStores, ApprovalFilter, Versioned, WriteResult } from './store/types.js';
export { planDecision, checkArguments } from './core/decide.js';
export type { DecisionInput, Actor, DecisionPlan, PlanContext } from './core/decide.js';
export { planTimeout } from './core/timeout.js';
export type { TimeoutPlan } from './core/timeout.js';
export { newRecord } from './core/record.js';
export { slackSignature, verifySlackSignature, SLACK_TOLERANCE_MS } from './security/signatures.js';
// The web security the approver uses lives in the kit (the console shares it); re-exported for receivers.
export { signWebhook, verifyWebhookSignature, TokenSet, MIN_TOKEN_LENGTH, Sessions, SESSION_COOKIE, LOGIN_CSRF_COOKIE } from '@pipewright/kit';
export type { SignatureCheck } from '@pipewright/kit';
export { loadTokens } from './security/tokens.js';
export { SLACK_ACTIONS, slackApprovalMessage, slackEscape } from './notify/slack-message.js';
export { CLIENT_HEADER } from './http/api.js';
export { escapeHtml, html } from './inbox/html.js';
export { loadConfig } from './config.js';
export type { ApproverConfig } from './config.js';
