import type { Command } from 'commander';

interface WorkerFlags {
  queueUrl?: string;
  concurrency?: string;
  dataDir?: string;
  dbUrl?: string;
  blobUrl?: string;
  name?: string;
}

/** `cairn worker`: runs pipeline steps from the job queue until SIGTERM/SIGINT, then lets running steps finish. */
export async function workerCommand(flags: WorkerFlags, command: Command): Promise<void> {
  const { loadConfig, startWorker } = await import('@cairn/server');
  const serverUrl = (command.optsWithGlobals() as { url?: string }).url;
  const config = loadConfig({
    flags: {
      ...(flags.queueUrl === undefined ? {} : { queueUrl: flags.queueUrl }),
      ...(flags.concurrency === undefined ? {} : { workerConcurrency: flags.concurrency }),
      ...(flags.dataDir === undefined ? {} : { dataDir: flags.dataDir }),
      ...(flags.dbUrl === undefined ? {} : { dbUrl: flags.dbUrl }),
      ...(flags.blobUrl === undefined ? {} : { blobUrl: flags.blobUrl }),
    },
  });
  const worker = await startWorker(config, {
    ...(serverUrl === undefined ? {} : { serverUrl }),
    ...(flags.name === undefined ? {} : { name: flags.name }),
    onStep: (event) => {
      const label = `${event.task.pipelineRunId} ${event.task.label} (attempt ${event.task.attempt})`;
      if (event.kind === 'started') process.stderr.write(`started  ${label}\n`);
      else
        process.stderr.write(
          `${event.result?.outcome ?? 'ended'} ${label}${event.result?.error ? `: ${event.result.error}` : ''}\n`,
        );
    },
    onError: (error, message) => process.stderr.write(`${message}: ${(error as Error).message}\n`),
  });
  process.stderr.write(
    `Cairn worker ${worker.name} taking pipeline steps from ${config.pipelines.queueUrl ?? ''} ` +
      `(${config.pipelines.workerConcurrency} at once)\n`,
  );
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      // A second signal: stop the running steps too (the scheduler runs them again elsewhere).
      void worker.close({ stopSteps: true }).finally(() => process.exit(130));
      return;
    }
    stopping = true;
    process.stderr.write(`${signal}: taking no new steps; waiting for running ones (again to stop them)\n`);
    void worker.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
