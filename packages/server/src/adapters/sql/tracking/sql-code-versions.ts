import type { Kysely } from 'kysely';
import type { Digest } from '../../../modules/artifacts/index.js';
import type { RunCodeVersion } from '../../../modules/tracking/index.js';
import type { Database, RunCodeVersionsTable } from '../schema.js';

/** The source a run ran from: the `run_code_versions` table, one row per run. */
export async function upsertCodeVersion(db: Kysely<Database>, version: RunCodeVersion): Promise<void> {
  const row: RunCodeVersionsTable = {
    run_id: version.runId,
    git_commit: version.commit,
    branch: version.branch,
    remote_url: version.remoteUrl,
    dirty: version.dirty ? 1 : 0,
    diff_digest: version.diffDigest,
    diff_bytes: version.diffBytes,
    created_ms: version.createdAt,
  };
  const { run_id: _runId, ...changes } = row;
  await db
    .insertInto('run_code_versions')
    .values(row)
    .onConflict((oc) => oc.column('run_id').doUpdateSet(changes))
    .execute();
}

export async function selectCodeVersion(
  db: Kysely<Database>,
  runId: string,
): Promise<RunCodeVersion | undefined> {
  const row = await db
    .selectFrom('run_code_versions')
    .selectAll()
    .where('run_id', '=', runId)
    .executeTakeFirst();
  if (row === undefined) return undefined;
  return {
    runId: row.run_id,
    commit: row.git_commit,
    branch: row.branch,
    remoteUrl: row.remote_url,
    dirty: Number(row.dirty) !== 0,
    diffDigest: row.diff_digest as Digest | null,
    diffBytes: Number(row.diff_bytes),
    createdAt: Number(row.created_ms),
  };
}
