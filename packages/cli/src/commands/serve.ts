import type { Command } from 'commander';

interface ServeFlags {
  deployment?: string[];
  host?: string;
  port?: string;
  dataDir?: string;
  dbUrl?: string;
  blobUrl?: string;
  auth?: boolean;
}

export async function serveCommand(flags: ServeFlags, _command: Command): Promise<void> {
  const { loadConfig, startServing } = await import('@cairn/server');
  const config = loadConfig({
    flags: {
      ...(flags.host === undefined ? {} : { host: flags.host }),
      port: flags.port ?? '5001',
      ...(flags.dataDir === undefined ? {} : { dataDir: flags.dataDir }),
      ...(flags.dbUrl === undefined ? {} : { dbUrl: flags.dbUrl }),
      ...(flags.blobUrl === undefined ? {} : { blobUrl: flags.blobUrl }),
      ...(flags.auth === true ? { auth: 'true' } : {}),
    },
  });
  const deployments = flags.deployment ?? [];
  const serving = await startServing(config, { deployments });
  process.stderr.write(
    `Cairn serving ${deployments.join(', ')} on ${serving.url}\n` +
      deployments.map((name) => `  v2       ${serving.url}/v2/models/${name}/infer\n`).join('') +
      `  metrics  ${serving.url}/metrics\n` +
      `  follows  new revisions of ${deployments.length === 1 ? 'this deployment' : 'these deployments'} within a second\n`,
  );
}
