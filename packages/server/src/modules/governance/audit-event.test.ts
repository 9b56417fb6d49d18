import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  auditHashInput,
  canonicalJson,
  chainAuditEvents,
  redactSecrets,
  type AuditDraft,
} from './audit-event.js';

const draftArb: fc.Arbitrary<AuditDraft> = fc.record({
  time: fc.integer({ min: 0, max: 2 ** 45 }),
  actor: fc.string(),
  action: fc.string(),
  outcome: fc.constantFrom('ok' as const, 'denied' as const),
  target: fc.record({ kind: fc.string(), id: fc.string() }),
  projectId: fc.option(fc.string(), { nil: null }),
  requestId: fc.option(fc.string(), { nil: null }),
  details: fc.jsonValue().map((value) => canonicalJson(value)),
});

describe('canonicalJson', () => {
  it('sorts keys at every level and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: undefined } })).toBe(
      '{"a":{"d":[3,{"y":2,"z":1}]},"b":1}',
    );
  });

  it('gives one text per value whatever the key order', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (value) => {
        const reversed = Object.fromEntries(Object.entries(value).reverse());
        expect(canonicalJson(reversed)).toBe(canonicalJson(value));
        expect(JSON.parse(canonicalJson(value))).toEqual(JSON.parse(JSON.stringify(value)));
      }),
    );
  });
});

describe('auditHashInput', () => {
  it('is exactly the canonical JSON of the event fields, as docs/audit.md defines it', () => {
    fc.assert(
      fc.property(
        draftArb,
        fc.nat(),
        fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 64, maxLength: 64 }),
        (draft, seq, prevHash) => {
          const event = { ...draft, seq, prevHash };
          const fields = {
            action: event.action,
            actor: event.actor,
            details: JSON.parse(event.details) as unknown,
            outcome: event.outcome,
            prevHash,
            projectId: event.projectId,
            requestId: event.requestId,
            seq,
            targetId: event.target.id,
            targetKind: event.target.kind,
            time: event.time,
          };
          expect(auditHashInput(event)).toBe(canonicalJson(fields));
        },
      ),
    );
  });

  it('links each event to the one before', () => {
    fc.assert(
      fc.property(fc.array(draftArb, { maxLength: 20 }), (drafts) => {
        const events = chainAuditEvents({ seq: 7, hash: 'f'.repeat(64) }, drafts);
        events.forEach((event, i) => {
          expect(event.seq).toBe(8 + i);
          expect(event.prevHash).toBe(i === 0 ? 'f'.repeat(64) : events[i - 1]!.hash);
        });
      }),
    );
  });
});

describe('redactSecrets', () => {
  it('hides values under secret-looking keys at any depth and keeps ids and names', () => {
    expect(
      redactSecrets({
        token: 'cairn_x',
        tokenId: 'abc',
        tokenName: 'ci',
        nested: [{ password: 'p', apiKey: 'k', secret_hash: 'h', name: 'n' }],
        Authorization: 'Bearer x',
      }),
    ).toEqual({
      token: '[redacted]',
      tokenId: 'abc',
      tokenName: 'ci',
      nested: [{ password: '[redacted]', apiKey: '[redacted]', secret_hash: '[redacted]', name: 'n' }],
      Authorization: '[redacted]',
    });
  });
});
