import { isCairnError } from '@cairn/contract';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodePageToken, encodePageToken } from './page-token.js';

describe('page tokens', () => {
  it('are base64 of MLflow-shaped JSON', () => {
    const token = encodePageToken(1000);
    expect(Buffer.from(token, 'base64').toString('utf8')).toBe('{"offset": 1000}');
    expect(decodePageToken(token)).toBe(1000);
  });

  it('read tokens MLflow wrote (standard and URL-safe base64, with or without padding)', () => {
    const json = '{"offset": 25}';
    expect(decodePageToken(Buffer.from(json).toString('base64'))).toBe(25);
    expect(decodePageToken(Buffer.from('{"offset":7}').toString('base64url'))).toBe(7);
  });

  it('treat a missing or empty token as the first page', () => {
    expect(decodePageToken(undefined)).toBe(0);
    expect(decodePageToken('')).toBe(0);
  });

  it('round-trip any offset', () => {
    fc.assert(fc.property(fc.maxSafeNat(), (offset) => decodePageToken(encodePageToken(offset)) === offset));
  });

  it.each([
    ['not base64 at all!'],
    [Buffer.from('hello').toString('base64')],
    [Buffer.from('[1]').toString('base64')],
    [Buffer.from('null').toString('base64')],
    [Buffer.from('{"offset": -1}').toString('base64')],
    [Buffer.from('{"offset": 1.5}').toString('base64')],
    [Buffer.from('{"offset": "3"}').toString('base64')],
    [Buffer.from('{"offset": 1e300}').toString('base64')],
    [Buffer.from('{}').toString('base64')],
    ['A'.repeat(5000)],
  ])('refuse %j', (token) => {
    try {
      decodePageToken(token, 'next_page_token');
      expect.unreachable();
    } catch (error) {
      expect(isCairnError(error)).toBe(true);
      expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'next_page_token' });
      expect((error as Error).message).toMatch(/^Invalid next_page_token: /);
    }
  });

  it('refuse arbitrary strings with INVALID_ARGUMENT only', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (token) => {
        try {
          const offset = decodePageToken(token);
          expect(Number.isSafeInteger(offset) && offset >= 0).toBe(true);
        } catch (error) {
          if (!isCairnError(error) || error.code !== 'INVALID_ARGUMENT') throw error;
        }
      }),
    );
  });

  it('will not encode a bad offset', () => {
    expect(() => encodePageToken(-1)).toThrow(RangeError);
    expect(() => encodePageToken(1.5)).toThrow(RangeError);
  });
});
