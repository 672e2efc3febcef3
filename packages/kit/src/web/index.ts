// Web security shared by the services that serve HTTP (the approver, the console): bearer tokens,
// signed sessions with CSRF tokens, constant-time comparison, and signed webhooks.
export { TokenSet, loadTokenSet, MIN_TOKEN_LENGTH } from './tokens.js';
export type { TokenHolder, TokenFormat } from './tokens.js';
export { Sessions, SESSION_COOKIE, LOGIN_CSRF_COOKIE, newLoginNonce } from './session.js';
export type { Session, SessionPrincipals } from './session.js';
export { equalText } from './compare.js';
export { bearerToken } from './bearer.js';
export { signWebhook, verifyWebhookSignature, WEBHOOK_TOLERANCE_MS } from './webhook-signature.js';
export { startHttpServer } from './server.js';
export type { HttpServer } from './server.js';
export type { SignatureCheck } from './webhook-signature.js';
