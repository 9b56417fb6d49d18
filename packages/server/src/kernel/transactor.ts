/**
 * A use case opens one transaction and gets every store bound to it, so the
 * change and its audit event commit or roll back together.
 */
export interface Transactor<Stores> {
  run<T>(work: (stores: Stores) => Promise<T>): Promise<T>;
}
