/** Maps items in order with up to `inFlight` loads running at once (reads overlap the consumer). */
export async function* readAhead<T, R>(
  items: readonly T[],
  load: (item: T) => Promise<R>,
  inFlight: number,
): AsyncIterable<R> {
  const queue: Array<Promise<R>> = [];
  let next = 0;
  while (next < items.length && queue.length < inFlight) queue.push(load(items[next++]!));
  while (queue.length > 0) {
    const head = queue.shift()!;
    // Failures surface in order, when their turn comes; a later one must not be reported unhandled first.
    for (const later of queue) later.catch(() => undefined);
    const value = await head;
    if (next < items.length) queue.push(load(items[next++]!));
    yield value;
  }
}
