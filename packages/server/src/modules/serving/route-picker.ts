/**
 * Which live route answers a request. Weights are percents; a request with
 * a key (a user or session id) always lands on the same route while the
 * weights stay the same, so one user does not flip between two models.
 * Keys are hashed to one of 10,000 buckets, so weight changes move only the
 * buckets between the old and new boundaries.
 */
const BUCKETS = 10_000;

export function pickWeighted<T extends { weight: number }>(routes: readonly T[], key: string | undefined): T {
  const bucket = key === undefined ? Math.floor(Math.random() * BUCKETS) : hashKey(key) % BUCKETS;
  const point = (bucket / BUCKETS) * 100;
  let edge = 0;
  for (const route of routes) {
    edge += route.weight;
    if (point < edge) return route;
  }
  return routes[routes.length - 1]!;
}

/** Whether a request's copy goes to a shadow taking `percent` of traffic. */
export function takesShare(percent: number): boolean {
  return percent >= 100 || Math.random() * 100 < percent;
}

/** FNV-1a, 32 bits: stable across processes and versions, which sticky routing needs. */
export function hashKey(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
