import type { FastifyInstance } from 'fastify';
import { CairnError } from '@cairn/contract';
import { openBlobStore } from './adapters/blob/open-blob-store.js';
import { openDatabase } from './adapters/sql/database.js';
import { createSqlStores, createSqlTransactor } from './adapters/sql/sql-stores.js';
import type { CairnConfig } from './config/load-config.js';
import { buildServingApp } from './http/serving-app.js';
import { systemClock } from './kernel/clock.js';
import { AccessControl, Authenticator, DeniedAttempts, LoginThrottle } from './modules/governance/index.js';
import type { ModelVersionRecord, PinnedFile, RegistryStore } from './modules/registry/index.js';
import type { ModelVersionSource } from './modules/serving/index.js';
import { CAIRN_VERSION, createServing } from './serving-wiring.js';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
const POLL_MS = 1_000;

export interface RunningServing {
  app: FastifyInstance;
  url: string;
  close(): Promise<void>;
}

/**
 * `cairn serve --deployment NAME…`: a stateless serving process. It reads
 * deployments from the metadata database, loads their models by digest
 * from the blob store, follows their revisions as they change (polling), and
 * answers the data plane only — v2, predict, feedback, health and metrics.
 * Run as many as the traffic needs, beside or away from `cairn server`.
 */
export async function startServing(
  config: CairnConfig,
  input: { deployments: string[] },
): Promise<RunningServing> {
  if (!LOOPBACK.has(config.host) && !config.auth.enabled) {
    throw new CairnError(
      'INVALID_ARGUMENT',
      `Refusing to bind ${config.host} with authentication off; turn it on (--auth) or bind 127.0.0.1.`,
    );
  }
  if (input.deployments.length === 0) {
    throw new CairnError('INVALID_ARGUMENT', 'name at least one deployment to serve (--deployment NAME)', {
      field: 'deployment',
    });
  }
  const database = openDatabase(config.dbUrl);
  const closeDatabase = () => database.close().catch(() => undefined);
  try {
    await database.migrate();
    const blobs = await openBlobStore(config.blobUrl, config.s3);
    const stores = createSqlStores(database.db, database.helpers);
    for (const name of input.deployments) {
      if ((await stores.deployments.getDeploymentByName(name)) === undefined) {
        throw new CairnError(
          'NOT_FOUND',
          `deployment ${name} not found (create it with cairn deploy create)`,
          {
            field: 'deployment',
          },
        );
      }
    }
    const clock = systemClock;
    const transactor = createSqlTransactor(database, clock);
    const access = new AccessControl({ authEnabled: config.auth.enabled });
    // The app logs, but it needs the serving parts first: errors before it exists go nowhere.
    const logTo: { app?: FastifyInstance } = {};
    const onError = (error: unknown, message: string) => logTo.app?.log.error({ err: error }, message);
    const parts = createServing({
      config,
      stores,
      transactor,
      clock,
      access,
      blobs,
      models: new StoredVersionFiles(stores.registry),
      onError,
      only: input.deployments,
    });
    const served = await buildServingApp({
      inference: parts.inference,
      engine: parts.engine,
      predictions: parts.predictions,
      auth: {
        authEnabled: config.auth.enabled,
        authenticator: new Authenticator({ identity: stores.identity, clock }),
        throttle: new LoginThrottle({ clock }),
        deniedAttempts: new DeniedAttempts(transactor),
      },
      metrics: parts.metrics,
      maxBodyBytes: config.bodyLimitBytes,
      serverVersion: CAIRN_VERSION,
      logLevel: config.logLevel,
      onClose: async () => {
        await parts.engine.stop();
        await parts.pool.closeAll();
        await parts.log.close();
        await closeDatabase();
      },
    });
    logTo.app = served;
    void parts.engine.start(POLL_MS);
    let url: string;
    try {
      url = await served.listen({ host: config.host, port: config.port });
    } catch (error) {
      await served.close();
      if ((error as { code?: string }).code === 'EADDRINUSE') {
        throw new CairnError(
          'UNAVAILABLE',
          `${config.host}:${config.port} is already in use; pick another with --port.`,
        );
      }
      throw error;
    }
    let closing: Promise<void> | undefined;
    const close = (): Promise<void> => (closing ??= served.close());
    const onSignal = (): void => {
      void close().then(() => process.exit(0));
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    return { app: served, url, close };
  } catch (error) {
    await closeDatabase();
    throw error;
  }
}

/**
 * The registry's pinned files, read straight from the store: a serving
 * process loads what a revision names (checked when it was made), so it
 * needs no registry service, only the file list behind a version.
 */
class StoredVersionFiles implements ModelVersionSource {
  constructor(private readonly registry: RegistryStore) {}

  async resolve(): Promise<ModelVersionRecord> {
    throw new CairnError('FAILED_PRECONDITION', 'a serving process does not change deployments');
  }

  async listFiles(name: unknown, version: unknown): Promise<PinnedFile[]> {
    const model = await this.registry.getModelByName(String(name));
    const record =
      model === undefined ? undefined : await this.registry.getVersion(model.modelId, Number(version));
    if (record === undefined)
      throw new CairnError('NOT_FOUND', `model version ${String(name)}/${String(version)} not found`);
    return this.registry.listFiles(record.versionId, '');
  }
}
