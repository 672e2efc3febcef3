import { z } from 'zod';

/**
 * Claim check: a value too large to travel in a message is stored once in a blob store and the message
 * carries this reference instead, so no message grows with the run. Whoever needs the value resolves
 * the reference (and checks the digest) where it is used.
 */

/** Scheme of a claim-check URL: `pw-blob://<bucket>/<runId>/<sha256>`. */
export const CLAIM_REF_SCHEME = 'pw-blob://';

const CLAIM_URL = /^pw-blob:\/\/([A-Za-z0-9_.-]{1,64})\/([A-Za-z0-9_-]{1,64})\/([0-9a-f]{64})$/;

export const ClaimRef = z
  .strictObject({
    /** `pw-blob://<bucket>/<runId>/<sha256>`: the store's bucket, the run the value belongs to, its digest. */
    $ref: z.string().regex(CLAIM_URL, 'a claim reference is pw-blob://<bucket>/<runId>/<sha256 hex>'),
    /** Size of the stored bytes. */
    bytes: z.number().int().nonnegative(),
    /** Hex SHA-256 of the stored bytes; a reader rejects bytes that do not match. */
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    /** Media type of the bytes. @default application/json */
    contentType: z.string().min(1).max(200).optional(),
  })
  .strict();
export type ClaimRef = z.infer<typeof ClaimRef>;

/** Whether a value (a step output, say) is a claim reference rather than the value itself. */
export function isClaimRef(value: unknown): value is ClaimRef {
  return ClaimRef.safeParse(value).success;
}

/** The parts of a claim-check URL; undefined when it is not one. */
export function parseClaimUrl(url: string): { bucket: string; runId: string; sha256: string } | undefined {
  const m = CLAIM_URL.exec(url);
  if (!m) return undefined;
  return { bucket: m[1]!, runId: m[2]!, sha256: m[3]! };
}

/** `pw-blob://<bucket>/<runId>/<sha256>` */
export function claimUrl(bucket: string, runId: string, sha256: string): string {
  return `${CLAIM_REF_SCHEME}${bucket}/${runId}/${sha256}`;
}
