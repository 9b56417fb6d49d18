import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generateToken, hashSecret, parseToken, secretMatches, TOKEN_SHAPE } from './token-secret.js';

describe('token secrets', () => {
  it('generates cairn_<16 hex>_<43 base64url> with a 256-bit secret', () => {
    const token = generateToken();
    expect(token.text).toMatch(/^cairn_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(token.secret, 'base64url')).toHaveLength(32);
    expect(token.text).toBe(`cairn_${token.tokenId}_${token.secret}`);
    expect(TOKEN_SHAPE).toEqual({ idHex: 16, secretChars: 43 });
  });

  it('never generates the same id or secret twice in many tries', () => {
    const ids = new Set<string>();
    const secrets = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const token = generateToken();
      ids.add(token.tokenId);
      secrets.add(token.secret);
    }
    expect(ids.size).toBe(2000);
    expect(secrets.size).toBe(2000);
  });

  it('parses its own tokens by position', () => {
    const token = generateToken();
    expect(parseToken(token.text)).toEqual({ tokenId: token.tokenId, secret: token.secret });
  });

  it('reads any other printable text of 32+ characters as a bootstrap token named by its sha256', () => {
    const text = 'x'.repeat(31) + 'y';
    const id = createHash('sha256').update(text).digest('hex').slice(0, 16);
    expect(parseToken(text)).toEqual({ tokenId: id, secret: text });
  });

  it.each([
    ['too short', 'x'.repeat(31)],
    ['empty', ''],
    ['a space inside', `${'x'.repeat(20)} ${'y'.repeat(20)}`],
    ['a control character', `${'x'.repeat(40)}\n`],
    ['non-ASCII', 'é'.repeat(40)],
    ['over 1024 characters', 'x'.repeat(1025)],
    ['not a string', 42],
    ['undefined', undefined],
  ])('refuses %s', (_name, text) => {
    expect(parseToken(text)).toBeUndefined();
  });

  it('stores a salted hash that matches only the same secret, and differs per salt', () => {
    const { secret } = generateToken();
    const a = hashSecret(secret);
    const b = hashSecret(secret);
    expect(a.salt).toMatch(/^[0-9a-f]{32}$/);
    expect(a.secretHash).toMatch(/^[0-9a-f]{64}$/);
    expect(a.secretHash).not.toBe(b.secretHash);
    expect(a.secretHash).not.toContain(secret);
    expect(secretMatches(secret, a)).toBe(true);
    expect(secretMatches(secret, b)).toBe(true);
    const oneCharOff = secret.slice(0, -1) + (secret.endsWith('A') ? 'B' : 'A');
    expect(secretMatches(oneCharOff, a)).toBe(false);
    expect(secretMatches('', a)).toBe(false);
  });

  it('refuses a stored hash of the wrong length instead of throwing', () => {
    const { secret } = generateToken();
    expect(secretMatches(secret, { salt: '00', secretHash: 'abcd' })).toBe(false);
  });

  it('parse never throws, whatever the text, and returns a token or undefined', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 2000 }),
          fc.string({ unit: 'binary', maxLength: 200 }),
          fc.anything(),
        ),
        (text) => {
          const parsed = parseToken(text);
          if (parsed !== undefined) {
            expect(parsed.tokenId).toMatch(/^[0-9a-f]{16}$/);
            expect(typeof parsed.secret).toBe('string');
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('any change to a token text changes what it parses to or refuses it', () => {
    const token = generateToken();
    fc.assert(
      fc.property(
        fc.nat({ max: token.text.length - 1 }),
        fc.string({ minLength: 1, maxLength: 1 }),
        (at, char) => {
          const changed = token.text.slice(0, at) + char + token.text.slice(at + 1);
          fc.pre(changed !== token.text);
          const parsed = parseToken(changed);
          if (parsed === undefined) return;
          const stored = hashSecret(token.secret);
          expect(parsed.tokenId === token.tokenId && secretMatches(parsed.secret, stored)).toBe(false);
        },
      ),
    );
  });
});
