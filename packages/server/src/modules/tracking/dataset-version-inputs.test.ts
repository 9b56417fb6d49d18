import { describe, expect, it } from 'vitest';
import { cairnSourceOf, versionDigestOf } from './dataset-version-inputs.js';

const HEX = 'ab'.repeat(32);

describe('dataset version references in run inputs', () => {
  it.each([
    [HEX, `sha256:${HEX}`],
    [HEX.toUpperCase(), `sha256:${HEX}`],
    [`sha256:${HEX}`, `sha256:${HEX}`],
    [` ${HEX} `, `sha256:${HEX}`],
    [HEX.slice(2), undefined],
    [`md5:${HEX}`, undefined],
    ['a1b2c3', undefined],
    ['', undefined],
  ])('digest %j → %j', (digest, expected) => {
    expect(versionDigestOf(digest)).toBe(expected);
  });

  it.each([
    ['cairn:iris@3', { name: 'iris', ref: '3' }],
    ['cairn:iris.v2_x-y@gold', { name: 'iris.v2_x-y', ref: 'gold' }],
    ['cairn:iris@latest', { name: 'iris', ref: 'latest' }],
    ['cairn:iris', undefined],
    ['cairn:@3', undefined],
    ['cairn:-bad@3', undefined],
    ['cairn:a@b@c', undefined],
    ['s3://bucket/iris@3', undefined],
    ['{"uri": "cairn:iris@3"}', undefined],
  ])('source %j → %j', (source, expected) => {
    expect(cairnSourceOf(source)).toEqual(expected);
  });
});
