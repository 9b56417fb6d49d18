import type { Kysely, Transaction } from 'kysely';
import type { Transactor } from '../../kernel/transactor.js';
import type { ArtifactStores } from '../../modules/artifacts/index.js';
import type { LineageStores } from '../../modules/lineage/index.js';
import type { RegistryStores } from '../../modules/registry/index.js';
import type { TrackingStores } from '../../modules/tracking/index.js';
import { SqlArtifactIndexStore } from './artifacts/sql-artifact-index-store.js';
import { translateDbError, type MetadataDatabase, type SqlHelpers } from './database.js';
import { SqlLineageStore } from './lineage/sql-lineage-store.js';
import { SqlRegistryStore } from './registry/sql-registry-store.js';
import type { Database } from './schema.js';
import { SqlTrackingStore } from './tracking/sql-tracking-store.js';

/** Every store of every module, bound to one connection or transaction. */
export type MetadataStores = TrackingStores & ArtifactStores & LineageStores & RegistryStores;

export function createSqlStores(
  db: Kysely<Database> | Transaction<Database>,
  helpers: SqlHelpers,
): MetadataStores {
  return {
    tracking: new SqlTrackingStore(db, helpers),
    artifacts: new SqlArtifactIndexStore(db),
    lineage: new SqlLineageStore(db, helpers),
    registry: new SqlRegistryStore(db, helpers),
  };
}

/** Opens one database transaction per use case; driver errors leave as Cairn errors. */
export function createSqlTransactor(database: MetadataDatabase): Transactor<MetadataStores> {
  return {
    async run<T>(work: (stores: MetadataStores) => Promise<T>): Promise<T> {
      try {
        return await database.db.transaction().execute((trx) => work(createSqlStores(trx, database.helpers)));
      } catch (error) {
        throw translateDbError(error);
      }
    },
  };
}
