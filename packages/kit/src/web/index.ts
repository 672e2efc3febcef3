// Web security shared by the services that serve HTTP (the approver, the console): bearer tokens,
// signed sessions with CSRF tokens, constant-time comparison, signed webhooks, escaping HTML
// templates, same-origin checks and the security headers of pages.
export { TokenSet, loadTokenSet, MIN_TOKEN_LENGTH } from './tokens.js';
export type { TokenHolder, TokenFormat } from './tokens.js';
export { Sessions, newLoginNonce } from './session.js';
export type { Session, SessionOptions } from './session.js';
export { equalText } from './compare.js';
export { bearerToken } from './bearer.js';
export { signWebhook, verifyWebhookSignature, WEBHOOK_TOLERANCE_MS } from './webhook-signature.js';
export { startHttpServer } from './server.js';
export { traceRequests } from './request-spans.js';
export type { TracedRequest } from './request-spans.js';
export type { HttpServer } from './server.js';
export type { SignatureCheck } from './webhook-signature.js';
export { Html, html, escapeHtml, safeHref } from './html.js';
export { contentSecurityPolicy, securityHeaders } from './headers.js';
export { sameOrigin, isHttps, formField } from './requests.js';
export type { RequestLike } from './requests.js';
