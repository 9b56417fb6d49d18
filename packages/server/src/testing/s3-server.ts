import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';

export interface TestS3 {
  /** http://127.0.0.1:PORT, for CAIRN_S3_ENDPOINT. */
  endpoint: string;
  close(): Promise<void>;
}

/**
 * A real S3 protocol server (s3rver) on 127.0.0.1 with the bucket made, and
 * the standard AWS credential variables set for it, as in production (they are
 * put back on close).
 */
export async function startTestS3(bucket: string): Promise<TestS3> {
  const directory = await mkdtemp(join(tmpdir(), 'cairn-s3-'));
  const s3 = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: true,
    directory,
    configureBuckets: [{ name: bucket }],
  });
  const { port } = await s3.run();
  const saved = { id: process.env['AWS_ACCESS_KEY_ID'], secret: process.env['AWS_SECRET_ACCESS_KEY'] };
  process.env['AWS_ACCESS_KEY_ID'] = 'S3RVER';
  process.env['AWS_SECRET_ACCESS_KEY'] = 'S3RVER';
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: async () => {
      await s3.close();
      await rm(directory, { recursive: true, force: true });
      if (saved.id === undefined) delete process.env['AWS_ACCESS_KEY_ID'];
      else process.env['AWS_ACCESS_KEY_ID'] = saved.id;
      if (saved.secret === undefined) delete process.env['AWS_SECRET_ACCESS_KEY'];
      else process.env['AWS_SECRET_ACCESS_KEY'] = saved.secret;
    },
  };
}
