import type { Command } from 'commander';

interface ServerFlags {
  host?: string;
  port?: string;
  dataDir?: string;
  dbUrl?: string;
  blobUrl?: string;
  auth?: boolean;
}

export async function serverCommand(flags: ServerFlags, _command: Command): Promise<void> {
  const { loadConfig, startServer } = await import('@cairn/server');
  const config = loadConfig({
    flags: {
      ...(flags.host === undefined ? {} : { host: flags.host }),
      ...(flags.port === undefined ? {} : { port: flags.port }),
      ...(flags.dataDir === undefined ? {} : { dataDir: flags.dataDir }),
      ...(flags.dbUrl === undefined ? {} : { dbUrl: flags.dbUrl }),
      ...(flags.blobUrl === undefined ? {} : { blobUrl: flags.blobUrl }),
      ...(flags.auth === true ? { auth: 'true' } : {}),
    },
  });
  const server = await startServer(config);
  process.stderr.write(
    `Cairn ${server.url}\n` +
      `  metadata  ${config.dbUrl.replace(/\/\/([^:@/]+):([^@/]+)@/, '//$1:***@')}\n` +
      `  blobs     ${config.blobUrl}\n` +
      `  MLflow    export MLFLOW_TRACKING_URI=${server.url}\n` +
      `  auth      ${config.auth.enabled ? 'on: every route but health needs a token (CAIRN_TOKEN, MLFLOW_TRACKING_TOKEN)' : 'off: local mode, loopback only'}\n`,
  );
}
