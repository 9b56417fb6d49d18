/** Commands load their code only when run, so `cairn --help` stays instant. */
export function lazy<A extends unknown[]>(load: () => Promise<(...args: A) => Promise<void>>) {
  return async (...args: A): Promise<void> => {
    const action = await load();
    await action(...args);
  };
}
