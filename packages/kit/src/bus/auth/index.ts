export { BUS_ROLES, EXTRA_BUCKETS, inboxPrefixFor, permissionsFor } from './roles.js';
export type { BusRole, PermissionOptions, RolePermissions } from './roles.js';
export { renderAuthorization } from './server-config.js';
export type { RolePublicKeys } from './server-config.js';
export { generateRoleKeys, publicKeysOf, seedFileName, writeRoleKeys } from './keys.js';
export type { RoleKey, RoleKeys, WrittenAuth } from './keys.js';
export { MessageSigner, SIGNATURE_HEADERS, seedFromFileText, verifySignature } from './signature.js';
export type { SignatureVerdict } from './signature.js';
