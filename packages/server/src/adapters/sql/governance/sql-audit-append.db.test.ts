import { CairnError } from '@cairn/contract';
import { expect, it } from 'vitest';
import {
  auditEventHash,
  GENESIS_HASH,
  runAsCaller,
  type AuditEvent,
} from '../../../modules/governance/index.js';
import { describeEachDatabase } from '../../../testing/test-databases.js';
import { createSqlStores, createSqlTransactor } from '../sql-stores.js';

const clock = { now: () => 1_700_000_000_000 };

describeEachDatabase('audit events appended by the transactor', ({ database }) => {
  async function allEvents(): Promise<AuditEvent[]> {
    const events: AuditEvent[] = [];
    for await (const page of createSqlStores(database().db, database().helpers).auditLog.scan()) {
      events.push(...page);
    }
    return events;
  }

  function expectUnbrokenChain(events: AuditEvent[], head: { lastSeq: number; lastHash: string }): void {
    let prev = GENESIS_HASH;
    events.forEach((event, index) => {
      expect(event.seq).toBe(index + 1);
      expect(event.prevHash).toBe(prev);
      expect(auditEventHash(event)).toBe(event.hash);
      prev = event.hash;
    });
    expect(head.lastSeq).toBe(events.length);
    expect(head.lastHash).toBe(prev);
  }

  it('chains concurrent transactions into one line with no fork and no gap', async () => {
    const transactor = createSqlTransactor(database(), clock);
    // Many writers at once: on PostgreSQL each takes the head row's lock last, so
    // whichever commits first links first and nobody reuses a sequence number.
    await Promise.all(
      Array.from({ length: 40 }, (_, writer) =>
        runAsCaller({ actor: `user-${writer}`, userId: null, isAdmin: false, roles: new Map() }, () =>
          transactor.run(async ({ audit }) => {
            for (let i = 0; i < 3; i++) {
              audit.record({ action: 'test.write', target: { kind: 'thing', id: `${writer}-${i}` } });
            }
          }),
        ),
      ),
    );
    const events = await allEvents();
    expect(events).toHaveLength(120);
    expectUnbrokenChain(events, await createSqlStores(database().db, database().helpers).auditLog.head());
    // Each transaction's events stay together, in the order they were recorded.
    for (let seq = 0; seq < 120; seq += 3) {
      const [a, b, c] = events.slice(seq, seq + 3);
      expect(new Set([a!.actor, b!.actor, c!.actor]).size).toBe(1);
      expect([a!.target.id, b!.target.id, c!.target.id].map((id) => id.split('-')[1])).toEqual([
        '0',
        '1',
        '2',
      ]);
    }
  });

  it('writes nothing and leaves no gap when the use case fails', async () => {
    const transactor = createSqlTransactor(database(), clock);
    const before = (await allEvents()).length;
    await expect(
      transactor.run(async ({ audit }) => {
        audit.record({ action: 'test.doomed', target: { kind: 'thing', id: 'x' } });
        throw new CairnError('INVALID_ARGUMENT', 'no');
      }),
    ).rejects.toThrow('no');
    await transactor.run(async ({ audit }) => {
      audit.record({
        action: 'test.after',
        target: { kind: 'thing', id: 'y' },
        details: { token: 'hunter2' },
      });
    });
    const events = await allEvents();
    expect(events).toHaveLength(before + 1);
    expect(events.some((e) => e.action === 'test.doomed')).toBe(false);
    const last = events[events.length - 1]!;
    expect(last.details).toBe('{"token":"[redacted]"}');
    expect(last.actor).toBe('system');
    expectUnbrokenChain(events, await createSqlStores(database().db, database().helpers).auditLog.head());
  });

  it('refuses to record outside a transaction', () => {
    const stores = createSqlStores(database().db, database().helpers);
    expect(() => stores.audit.record({ action: 'x.y', target: { kind: 'k', id: 'i' } })).toThrow(
      /outside a transaction/,
    );
  });
});
