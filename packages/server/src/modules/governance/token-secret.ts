import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * API token text: `cairn_<16 hex id>_<43 base64url secret>`. The id sits at a
 * fixed position, so the server finds the stored row by primary key and never
 * scans or compares secrets of other tokens.
 *
 * Only a random salt and sha256(salt ‖ secret) are stored. A slow password
 * hash (scrypt, argon2) exists to make guessing low-entropy human passwords
 * expensive; these secrets are 256 random bits, which no amount of fast
 * hashing can enumerate, while every authenticated request would pay the slow
 * hash's deliberate cost (tens of milliseconds of CPU each). The salt keeps
 * two stores' hashes of one secret unrelated.
 */
export const TOKEN_PREFIX = 'cairn_';
const ID_HEX = 16;
const SECRET_BYTES = 32;
/** 32 bytes in unpadded base64url. */
const SECRET_CHARS = 43;
const TOKEN_TEXT = /^cairn_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

/** A bootstrap token (CAIRN_ADMIN_TOKEN) is any text an operator chose, within these bounds. */
export const MIN_BOOTSTRAP_TOKEN_CHARS = 32;
export const MAX_TOKEN_CHARS = 1024;
const PRINTABLE = /^[\x21-\x7e]+$/;

export interface ParsedToken {
  readonly tokenId: string;
  /** The part that is compared against the stored hash. */
  readonly secret: string;
}

export interface NewToken extends ParsedToken {
  /** What the user is shown once and sends afterwards. */
  readonly text: string;
}

export interface HashedSecret {
  /** 16 random bytes, hex. */
  readonly salt: string;
  /** sha256(salt ‖ secret), hex. */
  readonly secretHash: string;
}

export function generateToken(): NewToken {
  const tokenId = randomBytes(ID_HEX / 2).toString('hex');
  const secret = randomBytes(SECRET_BYTES).toString('base64url');
  return { tokenId, secret, text: `${TOKEN_PREFIX}${tokenId}_${secret}` };
}

/**
 * The id and secret of a token text, or undefined when it cannot be a token.
 * Never throws, whatever the input. Text in Cairn's own format is split by
 * position; any other printable text of bootstrap length is an operator-chosen
 * token whose id is derived from it (first 16 hex of its sha256) and whose
 * whole text is the secret.
 */
export function parseToken(text: unknown): ParsedToken | undefined {
  if (typeof text !== 'string' || text.length > MAX_TOKEN_CHARS) return undefined;
  const match = TOKEN_TEXT.exec(text);
  if (match !== null) return { tokenId: match[1] as string, secret: match[2] as string };
  if (text.length < MIN_BOOTSTRAP_TOKEN_CHARS || !PRINTABLE.test(text)) return undefined;
  return { tokenId: createHash('sha256').update(text).digest('hex').slice(0, ID_HEX), secret: text };
}

function hashWith(salt: Buffer, secret: string): Buffer {
  return createHash('sha256').update(salt).update(secret, 'utf8').digest();
}

export function hashSecret(secret: string): HashedSecret {
  const salt = randomBytes(16);
  return { salt: salt.toString('hex'), secretHash: hashWith(salt, secret).toString('hex') };
}

/** Constant-time in the secret: the comparison never stops at the first differing byte. */
export function secretMatches(secret: string, stored: HashedSecret): boolean {
  const expected = Buffer.from(stored.secretHash, 'hex');
  const actual = hashWith(Buffer.from(stored.salt, 'hex'), secret);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

export const TOKEN_SHAPE = { idHex: ID_HEX, secretChars: SECRET_CHARS } as const;
