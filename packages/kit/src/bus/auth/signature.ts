// Signed messages: the approver signs each decision it publishes with its nkey (the seed of its bus
// identity), and the planner applies a decision only when the signature verifies against a key it was
// given. Bus permissions already keep other roles from publishing decisions; the signature is the
// second lock, for a leaked credential or a mistaken permission.
import { fromPublic, fromSeed, type KeyPair } from '@nats-io/nkeys';
import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';

/** Header names of a signed message. */
export const SIGNATURE_HEADERS = {
  /** The signer's public key (`U…`). */
  signer: 'Pw-Signer',
  /** Base64url ed25519 signature of the subject, a newline, and the payload bytes. */
  signature: 'Pw-Signature',
} as const;

const enc = new TextEncoder();

/** What is signed: the subject too, so a signed decision cannot be replayed on another run's subject. */
function signedBytes(subject: string, payload: Uint8Array): Uint8Array {
  const head = enc.encode(`${subject}\n`);
  const out = new Uint8Array(head.length + payload.length);
  out.set(head, 0);
  out.set(payload, head.length);
  return out;
}

/** A signer from an nkey seed (`SU…`, as in a seed file or the second block of a .creds file). */
export class MessageSigner {
  private readonly kp: KeyPair;
  readonly publicKey: string;

  constructor(seed: string) {
    this.kp = fromSeed(enc.encode(seed.trim()));
    this.publicKey = this.kp.getPublicKey();
  }

  /** Headers carrying the signature of `payload` on `subject` (added to `h` when given). */
  sign(subject: string, payload: Uint8Array, h: MsgHdrs = natsHeaders()): MsgHdrs {
    h.set(SIGNATURE_HEADERS.signer, this.publicKey);
    h.set(SIGNATURE_HEADERS.signature, Buffer.from(this.kp.sign(signedBytes(subject, payload))).toString('base64url'));
    return h;
  }
}

export type SignatureVerdict = { ok: true; signer: string } | { ok: false; reason: string };

/** Checks a message's signature against the trusted public keys. */
export function verifySignature(trusted: ReadonlySet<string>, subject: string, payload: Uint8Array, h: MsgHdrs | undefined): SignatureVerdict {
  const signer = h?.get(SIGNATURE_HEADERS.signer) ?? '';
  const sig = h?.get(SIGNATURE_HEADERS.signature) ?? '';
  if (signer === '' || sig === '') return { ok: false, reason: 'unsigned' };
  if (!trusted.has(signer)) return { ok: false, reason: `signer ${signer} is not a trusted approver key` };
  try {
    const valid = fromPublic(signer).verify(signedBytes(subject, payload), Buffer.from(sig, 'base64url'));
    return valid ? { ok: true, signer } : { ok: false, reason: 'bad signature' };
  } catch (err) {
    return { ok: false, reason: `unreadable signature: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/** The seed in a seed file or a .creds file (the `-----BEGIN USER NKEY SEED-----` block). */
export function seedFromFileText(text: string): string {
  const m = /-----BEGIN USER NKEY SEED-----\s*([A-Z0-9]+)\s*------END USER NKEY SEED------/.exec(text);
  if (m) return m[1]!;
  const line = text.split('\n').map((l) => l.trim()).find((l) => l.startsWith('SU'));
  if (line === undefined) throw new Error('no user nkey seed (SU…) in the file');
  return line;
}
