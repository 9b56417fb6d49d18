import type { FastifyInstance } from 'fastify';

interface Listener {
  port: number;
  app: Promise<FastifyInstance | undefined>;
}

/**
 * Each deployment with a port gets its own listener on the local server,
 * beside the shared API port. A port that is taken is logged and skipped:
 * the deployment still answers on the API port.
 */
export class DeploymentListeners {
  readonly #listeners = new Map<string, Listener>();
  #closed = false;

  constructor(
    private readonly deps: {
      host: string;
      build: (name: string) => Promise<FastifyInstance>;
      onError: (error: unknown, message: string) => void;
    },
  ) {}

  /** Opens, moves or closes the deployment's listener to match its port (null: none). */
  update(name: string, port: number | null): void {
    const current = this.#listeners.get(name);
    if (current?.port === port) return;
    if (current !== undefined) {
      this.#listeners.delete(name);
      void this.#close(current);
    }
    if (port === null || this.#closed) return;
    const app = this.#open(name, port);
    this.#listeners.set(name, { port, app });
  }

  async closeAll(): Promise<void> {
    this.#closed = true;
    const all = [...this.#listeners.values()];
    this.#listeners.clear();
    await Promise.allSettled(all.map((l) => this.#close(l)));
  }

  async #open(name: string, port: number): Promise<FastifyInstance | undefined> {
    let app: FastifyInstance | undefined;
    try {
      app = await this.deps.build(name);
      await app.listen({ host: this.deps.host, port });
      return app;
    } catch (error) {
      await app?.close().catch(() => undefined);
      this.deps.onError(
        error,
        `deployment ${name}: its own port ${port} could not be opened; it still answers on the API port`,
      );
      return undefined;
    }
  }

  async #close(listener: Listener): Promise<void> {
    const app = await listener.app;
    await app?.close();
  }
}
