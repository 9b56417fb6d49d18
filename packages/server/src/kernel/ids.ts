import { randomBytes, randomFillSync, randomUUID } from 'node:crypto';

/** 32 lowercase hex characters, the shape MLflow clients expect for run ids. */
export function newRunId(): string {
  return randomUUID().replaceAll('-', '');
}

export function newId(): string {
  return randomUUID();
}

export function newToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

const RANDOM_POOL = Buffer.alloc(16 * 512);
let poolAt = RANDOM_POOL.length;

/**
 * A UUID version 7 (RFC 9562): 48 bits of Unix milliseconds, then random
 * bits. Ids made later sort later, so rows keyed by them append at the end
 * of an index instead of landing on a random page (the prediction log
 * writes ~10,000 a second). Random bytes come from a pool refilled 512 ids at a time.
 */
export function newTimeOrderedId(nowMs = Date.now()): string {
  if (poolAt === RANDOM_POOL.length) {
    randomFillSync(RANDOM_POOL);
    poolAt = 0;
  }
  const bytes = RANDOM_POOL.subarray(poolAt, poolAt + 16);
  poolAt += 16;
  bytes.writeUIntBE(nowMs, 0, 6);
  bytes[6] = 0x70 | (bytes[6]! & 0x0f);
  bytes[8] = 0x80 | (bytes[8]! & 0x3f);
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
