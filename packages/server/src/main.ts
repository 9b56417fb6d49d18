import type { FastifyInstance } from 'fastify';
import { CairnError } from '@cairn/contract';
import { buildApp, type AppOverrides } from './app.js';
import { redactUrl } from './adapters/sql/database.js';
import type { CairnConfig } from './config/load-config.js';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export interface RunningServer {
  app: FastifyInstance;
  url: string;
  close(): Promise<void>;
}

/** Builds the app, listens, and closes cleanly on SIGINT/SIGTERM. */
export async function startServer(config: CairnConfig, overrides: AppOverrides = {}): Promise<RunningServer> {
  if (!LOOPBACK.has(config.host) && !config.auth.enabled) {
    throw new CairnError(
      'INVALID_ARGUMENT',
      `Refusing to bind ${config.host} with authentication off: anyone who can reach it could change everything. ` +
        'Turn authentication on (--auth or CAIRN_AUTH=true, with CAIRN_ADMIN_TOKEN set for the first admin), ' +
        'or bind a loopback address such as 127.0.0.1.',
    );
  }
  const app = await buildApp(config, overrides);
  let address: string;
  try {
    address = await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    await app.close();
    const code = (error as { code?: string }).code;
    if (code === 'EADDRINUSE') {
      throw new CairnError(
        'UNAVAILABLE',
        `${config.host}:${config.port} is already in use (another Cairn or MLflow server?); pick another with --port or CAIRN_PORT.`,
      );
    }
    if (code === 'EACCES') {
      throw new CairnError(
        'PERMISSION_DENIED',
        `not allowed to listen on ${config.host}:${config.port}; use a port above 1024.`,
      );
    }
    throw error;
  }
  const url = address.replace('[::1]', '[::1]');
  app.log.info(
    { url, db: redactUrl(config.dbUrl), blobs: app.cairn.blobs.location },
    `Cairn is listening on ${url} (MLFLOW_TRACKING_URI=${url})`,
  );
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= app.close();
    return closing;
  };
  const onSignal = (): void => {
    void close().then(() => process.exit(0));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return { app, url, close };
}
