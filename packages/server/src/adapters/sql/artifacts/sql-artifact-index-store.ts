import { sql, type Kysely, type RawBuilder, type SqlBool } from 'kysely';
import {
  ancestorsOf,
  parentOf,
  type ArtifactFile,
  type ArtifactIndexStore,
  type ArtifactListing,
  type Digest,
} from '../../../modules/artifacts/index.js';
import type { ArtifactFilesTable, Database } from '../schema.js';

function toFile(row: ArtifactFilesTable): ArtifactFile {
  return {
    path: row.path,
    digest: row.digest as Digest,
    sizeBytes: Number(row.size_bytes),
    createdAt: Number(row.created_ms),
  };
}

/**
 * "Below this folder" without LIKE (whose escapes and collations differ between
 * dialects) and without range comparisons (PostgreSQL collations are not bytewise).
 */
function underFolder(column: 'path', folder: string): RawBuilder<SqlBool> {
  const prefix = `${folder}/`;
  return sql<SqlBool>`substr(${sql.ref(column)}, 1, ${[...prefix].length}) = ${prefix}`;
}

export class SqlArtifactIndexStore implements ArtifactIndexStore {
  constructor(private readonly db: Kysely<Database>) {}

  async putFile(file: ArtifactFile): Promise<void> {
    const dirs = ancestorsOf(file.path);
    if (dirs.length > 0) {
      await this.db
        .insertInto('artifact_dirs')
        .values(dirs.map((path) => ({ path, parent: parentOf(path) })))
        .onConflict((oc) => oc.doNothing())
        .execute();
    }
    await this.db
      .insertInto('artifact_files')
      .values({
        path: file.path,
        dir: parentOf(file.path),
        digest: file.digest,
        size_bytes: file.sizeBytes,
        created_ms: file.createdAt,
      })
      .onConflict((oc) =>
        oc
          .column('path')
          .doUpdateSet({ digest: file.digest, size_bytes: file.sizeBytes, created_ms: file.createdAt }),
      )
      .execute();
  }

  async getFile(path: string): Promise<ArtifactFile | undefined> {
    const row = await this.db
      .selectFrom('artifact_files')
      .selectAll()
      .where('path', '=', path)
      .executeTakeFirst();
    return row === undefined ? undefined : toFile(row);
  }

  async isDir(path: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('artifact_dirs')
      .select('path')
      .where('path', '=', path)
      .executeTakeFirst();
    return row !== undefined;
  }

  async list(dir: string): Promise<ArtifactListing> {
    const [files, dirs] = await Promise.all([
      this.db.selectFrom('artifact_files').selectAll().where('dir', '=', dir).orderBy('path').execute(),
      this.db.selectFrom('artifact_dirs').select('path').where('parent', '=', dir).orderBy('path').execute(),
    ]);
    return { files: files.map(toFile), dirs: dirs.map((d) => d.path) };
  }

  async listTree(dir: string): Promise<ArtifactFile[]> {
    let select = this.db.selectFrom('artifact_files').selectAll();
    if (dir !== '') select = select.where((eb) => eb.or([eb('path', '=', dir), underFolder('path', dir)]));
    const rows = await select.orderBy('path').execute();
    return rows.map(toFile);
  }

  async deleteTree(path: string): Promise<number> {
    const removed = await this.db
      .deleteFrom('artifact_files')
      .where((eb) => eb.or([eb('path', '=', path), underFolder('path', path)]))
      .executeTakeFirst();
    await this.db
      .deleteFrom('artifact_dirs')
      .where((eb) => eb.or([eb('path', '=', path), underFolder('path', path)]))
      .execute();
    await this.pruneEmptyAncestors(parentOf(path));
    return Number(removed.numDeletedRows);
  }

  /** A folder exists while something is in it; drop the ones a delete emptied. */
  private async pruneEmptyAncestors(dir: string): Promise<void> {
    let current = dir;
    while (current !== '') {
      const [file, sub] = await Promise.all([
        this.db
          .selectFrom('artifact_files')
          .select('path')
          .where('dir', '=', current)
          .limit(1)
          .executeTakeFirst(),
        this.db
          .selectFrom('artifact_dirs')
          .select('path')
          .where('parent', '=', current)
          .limit(1)
          .executeTakeFirst(),
      ]);
      if (file !== undefined || sub !== undefined) return;
      await this.db.deleteFrom('artifact_dirs').where('path', '=', current).execute();
      current = parentOf(current);
    }
  }
}
