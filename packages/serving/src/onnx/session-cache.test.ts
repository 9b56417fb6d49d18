import { describe, expect, it } from 'vitest';
import { SessionCache } from './session-cache.js';

class FakeSession {
  released = 0;
  constructor(readonly id: number) {}
  async release(): Promise<void> {
    this.released++;
  }
}

describe('SessionCache', () => {
  it('shares one session per key and releases it after the last holder lets go', async () => {
    const cache = new SessionCache<FakeSession>();
    let created = 0;
    const create = async (): Promise<FakeSession> => new FakeSession(++created);
    const [a, b] = await Promise.all([cache.acquire('k', create), cache.acquire('k', create)]);
    const other = await cache.acquire('other', create);
    expect(a.session).toBe(b.session);
    expect(other.session).not.toBe(a.session);
    expect(cache.references('k')).toBe(2);
    await a.release();
    await a.release();
    expect(cache.references('k')).toBe(1);
    expect(a.session.released).toBe(0);
    await b.release();
    expect(a.session.released).toBe(1);
    expect(cache.references('k')).toBe(0);
    expect(cache.size).toBe(1);
    const again = await cache.acquire('k', create);
    expect(again.session.id).toBe(3);
  });

  it('forgets a failed creation so the next acquire tries again', async () => {
    const cache = new SessionCache<FakeSession>();
    const failing = Promise.all([
      cache.acquire('k', () => Promise.reject(new Error('no such file'))),
      cache.acquire('k', () => Promise.resolve(new FakeSession(9))),
    ]);
    await expect(failing).rejects.toThrow('no such file');
    expect(cache.size).toBe(0);
    const lease = await cache.acquire('k', async () => new FakeSession(2));
    expect(lease.session.id).toBe(2);
  });
});
