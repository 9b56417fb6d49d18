import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { canonicalJson } from './audit-event.js';
import type { AuditCheckpoint } from './entities.js';

/** A new Ed25519 private key as PKCS#8 PEM, for whoever stores it (the key file adapter). */
export function generateAuditKeyPem(): string {
  const { privateKey } = generateKeyPairSync('ed25519');
  return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

function publicKeyOf(pem: string): KeyObject {
  const key = pem.includes('PRIVATE KEY') ? createPublicKey(createPrivateKey(pem)) : createPublicKey(pem);
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new Error(`the key is ${key.asymmetricKeyType ?? 'unknown'}, not Ed25519`);
  }
  return key;
}

/** First 16 hex digits of sha256 over the raw 32-byte public key: short, stable, and names the key in every checkpoint. */
export function auditKeyId(publicKey: KeyObject): string {
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url');
  return createHash('sha256').update(raw).digest('hex').slice(0, 16);
}

/** The exact bytes a checkpoint's signature covers. */
export function checkpointSigningInput(checkpoint: Omit<AuditCheckpoint, 'signature'>): string {
  return canonicalJson({
    hash: checkpoint.hash,
    keyId: checkpoint.keyId,
    seq: checkpoint.seq,
    time: checkpoint.time,
  });
}

/** The server's checkpoint signer, made from the private key PEM that app.ts reads. */
export class AuditSigner {
  readonly keyId: string;
  readonly publicKeyPem: string;
  private readonly privateKey: KeyObject;

  constructor(privateKeyPem: string) {
    this.privateKey = createPrivateKey(privateKeyPem);
    if (this.privateKey.asymmetricKeyType !== 'ed25519') {
      throw new Error(`the audit signing key is ${this.privateKey.asymmetricKeyType}, not Ed25519`);
    }
    const publicKey = createPublicKey(this.privateKey);
    this.keyId = auditKeyId(publicKey);
    this.publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  }

  signCheckpoint(head: { seq: number; hash: string; time: number }): AuditCheckpoint {
    const unsigned = { seq: head.seq, hash: head.hash, time: head.time, keyId: this.keyId };
    const signature = sign(null, Buffer.from(checkpointSigningInput(unsigned)), this.privateKey);
    return { ...unsigned, signature: signature.toString('base64') };
  }
}

/**
 * Why a checkpoint does not verify against a public key (PEM), or undefined
 * when it does: the key id must name this key and the signature must hold.
 */
export function checkpointSignatureError(
  checkpoint: AuditCheckpoint,
  publicKeyPem: string,
): string | undefined {
  let key: KeyObject;
  try {
    key = publicKeyOf(publicKeyPem);
  } catch (error) {
    return `the public key cannot be read: ${(error as Error).message}`;
  }
  const keyId = auditKeyId(key);
  if (checkpoint.keyId !== keyId) {
    return `it names key ${checkpoint.keyId}, but the public key given is ${keyId}`;
  }
  const signature = Buffer.from(checkpoint.signature, 'base64');
  const valid =
    signature.length === 64 && verify(null, Buffer.from(checkpointSigningInput(checkpoint)), key, signature);
  return valid ? undefined : 'the Ed25519 signature does not match its seq, hash and time';
}

export function verifyCheckpoint(checkpoint: AuditCheckpoint, publicKeyPem: string): boolean {
  return checkpointSignatureError(checkpoint, publicKeyPem) === undefined;
}

/** The SPKI PEM of a public or private Ed25519 key PEM. */
export function auditPublicKeyPem(pem: string): string {
  return publicKeyOf(pem).export({ type: 'spki', format: 'pem' }).toString();
}

/** The key id of a public (or private) key PEM, to compare with a checkpoint's. */
export function auditKeyIdOfPem(pem: string): string {
  return auditKeyId(publicKeyOf(pem));
}
