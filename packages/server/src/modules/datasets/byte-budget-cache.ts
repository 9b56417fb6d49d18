/**
 * A least-recently-used map bounded by a budget: each entry costs what the
 * caller says (bytes for buffers, 1 for rows), and the oldest entries leave
 * when the total passes the budget.
 */
export class ByteBudgetCache<K, V> {
  readonly #budget: number;
  readonly #entries = new Map<K, { value: V; cost: number }>();
  #total = 0;

  constructor(budget: number) {
    this.#budget = budget;
  }

  get(key: K): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    // Re-inserting moves the key to the young end of the Map's order.
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry.value;
  }

  set(key: K, value: V, cost: number): void {
    if (cost > this.#budget) return;
    const old = this.#entries.get(key);
    if (old !== undefined) {
      this.#total -= old.cost;
      this.#entries.delete(key);
    }
    this.#entries.set(key, { value, cost });
    this.#total += cost;
    for (const [oldest, entry] of this.#entries) {
      if (this.#total <= this.#budget) break;
      this.#entries.delete(oldest);
      this.#total -= entry.cost;
    }
  }

  clear(): void {
    this.#entries.clear();
    this.#total = 0;
  }
}
