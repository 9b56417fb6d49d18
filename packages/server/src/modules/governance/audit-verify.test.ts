import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  auditEventHash,
  canonicalJson,
  chainAuditEvents,
  GENESIS_HASH,
  type AuditDraft,
  type AuditEvent,
} from './audit-event.js';
import { AuditSigner, generateAuditKeyPem } from './audit-signing.js';
import { recomputeAuditHash, verifyAuditChain, type AuditChainSource } from './audit-verify.js';
import type { AuditCheckpoint, AuditHead } from './entities.js';

const draftArb: fc.Arbitrary<AuditDraft> = fc.record({
  time: fc.integer({ min: 0, max: 2 ** 45 }),
  actor: fc.string({ maxLength: 8 }),
  action: fc.string({ maxLength: 8 }),
  outcome: fc.constantFrom('ok' as const, 'denied' as const),
  target: fc.record({ kind: fc.string({ maxLength: 4 }), id: fc.string({ maxLength: 4 }) }),
  projectId: fc.option(fc.string({ maxLength: 4 }), { nil: null }),
  requestId: fc.option(fc.string({ maxLength: 4 }), { nil: null }),
  details: fc.jsonValue({ maxDepth: 2 }).map((value) => canonicalJson(value)),
});

const draftsArb = (min: number) => fc.array(draftArb, { minLength: min, maxLength: 40 });

/** A store as the verifier sees it: rows read in seq order, a page at a time. */
function memorySource(
  rows: readonly AuditEvent[],
  head: AuditHead,
  checkpoints: readonly AuditCheckpoint[] = [],
): AuditChainSource {
  const sorted = [...rows].sort((a, b) => a.seq - b.seq);
  return {
    head: async () => head,
    listCheckpoints: async () => checkpoints,
    async *scan(options = {}) {
      const size = options.pageSize ?? 20_000;
      for (let i = 0; i < sorted.length; i += size) yield sorted.slice(i, i + size);
    },
  };
}

function chain(drafts: readonly AuditDraft[]): { events: AuditEvent[]; head: AuditHead } {
  const events = chainAuditEvents({ seq: 0, hash: GENESIS_HASH }, drafts);
  const last = events[events.length - 1];
  return {
    events,
    head: {
      firstSeq: 1,
      anchorHash: GENESIS_HASH,
      lastSeq: last?.seq ?? 0,
      lastHash: last?.hash ?? GENESIS_HASH,
    },
  };
}

const verify = (
  rows: readonly AuditEvent[],
  head: AuditHead,
  extra: { checkpoints?: AuditCheckpoint[]; pageSize?: number; key?: string } = {},
) =>
  verifyAuditChain(memorySource(rows, head, extra.checkpoints), {
    pageSize: extra.pageSize ?? 7,
    ...(extra.key === undefined
      ? {}
      : { checkSignature: (c: AuditCheckpoint) => (c.keyId === 'forged' ? 'forged key' : undefined) }),
  });

/** Every stored column but seq, changed in a way that keeps the row readable. */
const FIELD_EDITS: Record<string, (e: AuditEvent) => AuditEvent> = {
  time: (e) => ({ ...e, time: e.time + 1 }),
  actor: (e) => ({ ...e, actor: `${e.actor}x` }),
  action: (e) => ({ ...e, action: `${e.action}x` }),
  outcome: (e) => ({ ...e, outcome: e.outcome === 'ok' ? 'denied' : 'ok' }),
  target_kind: (e) => ({ ...e, target: { ...e.target, kind: `${e.target.kind}x` } }),
  target_id: (e) => ({ ...e, target: { ...e.target, id: `${e.target.id}x` } }),
  project_id: (e) => ({ ...e, projectId: e.projectId === null ? 'p' : null }),
  request_id: (e) => ({ ...e, requestId: e.requestId === null ? 'r' : null }),
  details: (e) => ({ ...e, details: e.details === '{}' ? '{"a":1}' : '{}' }),
  prev_hash: (e) => ({ ...e, prevHash: e.prevHash.replace(/^./, (c) => (c === 'f' ? '0' : 'f')) }),
  hash: (e) => ({ ...e, hash: e.hash.replace(/^./, (c) => (c === 'f' ? '0' : 'f')) }),
};

describe('recomputeAuditHash', () => {
  it('equals auditEventHash for any event', () => {
    fc.assert(
      fc.property(draftsArb(1), (drafts) => {
        for (const event of chain(drafts).events)
          expect(recomputeAuditHash(event)).toBe(auditEventHash(event));
      }),
    );
  });
});

describe('verifyAuditChain', () => {
  it('passes an untouched chain of any length, on any page size', async () => {
    await fc.assert(
      fc.asyncProperty(draftsArb(0), fc.integer({ min: 1, max: 50 }), async (drafts, pageSize) => {
        const { events, head } = chain(drafts);
        const result = await verify(events, head, { pageSize });
        expect(result).toEqual({
          ok: true,
          events: events.length,
          firstSeq: 1,
          lastSeq: events.length,
          lastHash: head.lastHash,
          checkpoints: 0,
        });
      }),
    );
  });

  it('names any single changed field of any event as modified, at that seq', async () => {
    await fc.assert(
      fc.asyncProperty(
        draftsArb(1),
        fc.nat(),
        fc.constantFrom(...Object.keys(FIELD_EDITS)),
        async (drafts, at, field) => {
          const { events, head } = chain(drafts);
          const k = at % events.length;
          const rows = events.map((e, i) => (i === k ? FIELD_EDITS[field]!(e) : e));
          const result = await verify(rows, head);
          expect(result.ok).toBe(false);
          expect(result.problem).toMatchObject({ seq: k + 1, kind: 'modified' });
          expect(result.events).toBe(k);
        },
      ),
    );
  });

  it('names a changed seq as modified at the seq it left', async () => {
    await fc.assert(
      fc.asyncProperty(draftsArb(1), fc.nat(), async (drafts, at) => {
        const { events, head } = chain(drafts);
        const k = at % events.length;
        const rows = events.map((e, i) => (i === k ? { ...e, seq: e.seq + 1_000 } : e));
        expect((await verify(rows, head)).problem).toMatchObject({ seq: k + 1, kind: 'modified' });
      }),
    );
  });

  it('names a deleted event, anywhere, as deleted at its seq', async () => {
    await fc.assert(
      fc.asyncProperty(draftsArb(1), fc.nat(), async (drafts, at) => {
        const { events, head } = chain(drafts);
        const k = at % events.length;
        const result = await verify(
          events.filter((_, i) => i !== k),
          head,
        );
        expect(result.problem).toMatchObject({ seq: k + 1, kind: 'deleted' });
      }),
    );
  });

  it('names a deletion closed up by renumbering the later events as deleted', async () => {
    await fc.assert(
      fc.asyncProperty(draftsArb(3), fc.nat(), async (drafts, at) => {
        const { events, head } = chain(drafts);
        const k = at % (events.length - 1);
        const rows = events
          .filter((_, i) => i !== k)
          .map((e) => (e.seq > k + 1 ? { ...e, seq: e.seq - 1 } : e));
        expect((await verify(rows, head)).problem).toMatchObject({ seq: k + 1, kind: 'deleted' });
      }),
    );
  });

  it('names two swapped events as reordered at the first of them', async () => {
    await fc.assert(
      fc.asyncProperty(draftsArb(2), fc.nat(), fc.nat(), async (drafts, x, y) => {
        const { events, head } = chain(drafts);
        const a = x % events.length;
        const b = y % events.length;
        fc.pre(a !== b);
        const [lo, hi] = a < b ? [a, b] : [b, a];
        // Swapping the seq values is swapping everything else: the positions exchange contents.
        const rows = events.map((e, i) =>
          i === lo ? { ...events[hi]!, seq: e.seq } : i === hi ? { ...events[lo]!, seq: e.seq } : e,
        );
        expect((await verify(rows, head)).problem).toMatchObject({ seq: lo + 1, kind: 'reordered' });
      }),
    );
  });

  it('names an event inserted into the middle (later ones shifted up) as inserted', async () => {
    await fc.assert(
      fc.asyncProperty(draftsArb(1), draftArb, fc.nat(), async (drafts, forged, at) => {
        const { events, head } = chain(drafts);
        const k = at % events.length;
        const prev = k === 0 ? GENESIS_HASH : events[k - 1]!.hash;
        const [inserted] = chainAuditEvents({ seq: k, hash: prev }, [forged]);
        fc.pre(inserted!.hash !== events[k]!.hash); // a copy of the event it displaces is no insertion
        const rows = [
          ...events.slice(0, k),
          inserted!,
          ...events.slice(k).map((e) => ({ ...e, seq: e.seq + 1 })),
        ];
        expect((await verify(rows, head)).problem).toMatchObject({ seq: k + 1, kind: 'inserted' });
      }),
    );
  });

  it('names a self-consistent event that links elsewhere as inserted', async () => {
    await fc.assert(
      fc.asyncProperty(draftsArb(2), draftArb, fc.nat(), async (drafts, forged, at) => {
        const { events, head } = chain(drafts);
        const k = 1 + (at % (events.length - 1));
        // A replacement with a valid hash of its own, chained from the wrong predecessor.
        const [replacement] = chainAuditEvents({ seq: k, hash: 'f'.repeat(64) }, [forged]);
        const rows = events.map((e, i) => (i === k ? replacement! : e));
        expect((await verify(rows, head)).problem).toMatchObject({ seq: k + 1, kind: 'inserted' });
      }),
    );
  });

  it('names an event appended past the head as inserted', async () => {
    await fc.assert(
      fc.asyncProperty(draftsArb(0), draftArb, async (drafts, forged) => {
        const { events, head } = chain(drafts);
        const [extra] = chainAuditEvents({ seq: head.lastSeq, hash: head.lastHash }, [forged]);
        const result = await verify([...events, extra!], head);
        expect(result.problem).toMatchObject({ seq: head.lastSeq + 1, kind: 'inserted' });
        expect(result.events).toBe(events.length);
      }),
    );
  });

  it('names a cut tail as deleted at the first missing seq', async () => {
    await fc.assert(
      fc.asyncProperty(draftsArb(1), fc.nat(), async (drafts, at) => {
        const { events, head } = chain(drafts);
        const keep = at % events.length;
        expect((await verify(events.slice(0, keep), head)).problem).toMatchObject({
          seq: keep + 1,
          kind: 'deleted',
        });
      }),
    );
  });

  it('checks the head: its hash, its seq, and the anchor the first event chains from', async () => {
    const { events, head } = chain(Array.from({ length: 10 }, (_, i) => draft(i)));
    expect((await verify(events, { ...head, lastHash: 'a'.repeat(64) })).problem).toMatchObject({
      seq: 10,
      kind: 'modified',
      message: expect.stringMatching(/audit_head/),
    });
    expect((await verify(events, { ...head, lastSeq: 9 })).problem).toMatchObject({
      seq: 9,
      kind: 'modified',
    });
    expect((await verify(events, { ...head, lastSeq: 12 })).problem).toMatchObject({
      seq: 11,
      kind: 'deleted',
    });
    expect((await verify(events, { ...head, anchorHash: 'a'.repeat(64) })).problem).toMatchObject({
      seq: 1,
      kind: 'modified',
      message: expect.stringMatching(/anchor/),
    });
    expect((await verify(events, { ...head, firstSeq: 3 })).problem).toMatchObject({
      seq: 1,
      kind: 'inserted',
    });
  });

  it('verifies a pruned chain from its anchor', async () => {
    const { events, head } = chain(Array.from({ length: 10 }, (_, i) => draft(i)));
    const kept = events.slice(4);
    const pruned = { ...head, firstSeq: 5, anchorHash: events[3]!.hash };
    expect(await verify(kept, pruned)).toMatchObject({ ok: true, events: 6, firstSeq: 5, lastSeq: 10 });
    expect((await verify(kept.slice(1), pruned)).problem).toMatchObject({ seq: 5, kind: 'deleted' });
  });

  it('catches a chain rewritten with fresh hashes through a signed checkpoint', async () => {
    const signer = new AuditSigner(generateAuditKeyPem());
    const { events, head } = chain(Array.from({ length: 20 }, (_, i) => draft(i)));
    const checkpoint = signer.signCheckpoint({ seq: 12, hash: events[11]!.hash, time: 1 });
    // Event 5 changed and everything after it re-chained: every hash and link holds again.
    const rewritten = chainAuditEvents({ seq: 0, hash: GENESIS_HASH }, [
      ...events.slice(0, 4),
      { ...events[4]!, actor: 'mallory' },
      ...events.slice(5),
    ]);
    const newHead = { ...head, lastHash: rewritten[rewritten.length - 1]!.hash };
    expect(await verify(rewritten, newHead)).toMatchObject({ ok: true });
    const caught = await verify(rewritten, newHead, { checkpoints: [checkpoint], key: 'k' });
    expect(caught.problem).toMatchObject({
      seq: 12,
      kind: 'modified',
      message: expect.stringMatching(/rewritten/),
    });
    expect(await verify(events, head, { checkpoints: [checkpoint], key: 'k' })).toMatchObject({
      ok: true,
      checkpoints: 1,
    });
    const forged = { ...checkpoint, keyId: 'forged' };
    expect((await verify(events, head, { checkpoints: [forged], key: 'k' })).problem).toMatchObject({
      seq: 12,
      kind: 'signature',
    });
    // A checkpoint past the head: the tail was cut and the head moved back to hide it.
    const cut = { ...head, lastSeq: 11, lastHash: events[10]!.hash };
    expect((await verify(events.slice(0, 11), cut, { checkpoints: [checkpoint] })).problem).toMatchObject({
      seq: 12,
      kind: 'deleted',
    });
  });

  it('stops at newer appends on a live store instead of calling them inserted', async () => {
    const { events, head } = chain(Array.from({ length: 10 }, (_, i) => draft(i)));
    const startHead = { ...head, lastSeq: 6, lastHash: events[5]!.hash };
    let reads = 0;
    const source: AuditChainSource = {
      ...memorySource(events, head),
      head: async () => (reads++ === 0 ? startHead : head),
    };
    expect(await verifyAuditChain(source, { liveHead: true, pageSize: 3 })).toMatchObject({
      ok: true,
      events: 6,
      lastSeq: 6,
    });
  });

  it('reads at most a page ahead while the chain is sound', async () => {
    const { events, head } = chain(Array.from({ length: 100 }, (_, i) => draft(i)));
    let served = 0;
    let maxAhead = 0;
    let checked = 0;
    const source: AuditChainSource = {
      ...memorySource(events, head),
      async *scan(options = {}) {
        for (let i = 0; i < events.length; i += options.pageSize!) {
          served += Math.min(options.pageSize!, events.length - i);
          maxAhead = Math.max(maxAhead, served - checked);
          yield events.slice(i, i + options.pageSize!);
        }
      },
    };
    await verifyAuditChain(source, { pageSize: 10, onProgress: (n) => (checked = n) });
    expect(maxAhead).toBeLessThanOrEqual(20);
  });
});

function draft(i: number): AuditDraft {
  return {
    time: 1_700_000_000_000 + i,
    actor: `user-${i % 3}`,
    action: 'runs.log_batch',
    outcome: 'ok',
    target: { kind: 'run', id: `r${i}` },
    projectId: 'default',
    requestId: `req-${i}`,
    details: canonicalJson({ n: i }),
  };
}
