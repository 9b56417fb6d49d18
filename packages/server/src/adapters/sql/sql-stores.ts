import type { Kysely, Transaction } from 'kysely';
import { systemClock, type Clock } from '../../kernel/clock.js';
import type { Transactor } from '../../kernel/transactor.js';
import type { ArtifactStores } from '../../modules/artifacts/index.js';
import type { DatasetStores } from '../../modules/datasets/index.js';
import {
  NO_AUDIT_OUTSIDE_TRANSACTION,
  PendingAuditEvents,
  type AuditStores,
  type GovernanceStores,
} from '../../modules/governance/index.js';
import type { LineageStores } from '../../modules/lineage/index.js';
import type { PipelineStores } from '../../modules/pipelines/index.js';
import type { PromotionStores } from '../../modules/promotions/index.js';
import type { RegistryStores } from '../../modules/registry/index.js';
import type { DeploymentStores } from '../../modules/serving/index.js';
import type { TrackingStores } from '../../modules/tracking/index.js';
import { SqlArtifactIndexStore } from './artifacts/sql-artifact-index-store.js';
import { SqlDatasetStore } from './datasets/sql-dataset-store.js';
import { appendAuditEvents } from './governance/sql-audit-append.js';
import { SqlAuditStore } from './governance/sql-audit-store.js';
import { SqlIdentityStore } from './governance/sql-identity-store.js';
import { SqlPolicyStore } from './governance/sql-policy-store.js';
import { SqlPromotionStore } from './promotions/sql-promotion-store.js';
import { translateDbError, type MetadataDatabase, type SqlHelpers } from './database.js';
import { SqlLineageStore } from './lineage/sql-lineage-store.js';
import { SqlPipelineStore } from './pipelines/sql-pipeline-store.js';
import { SqlRegistryStore } from './registry/sql-registry-store.js';
import { SqlDeploymentStore } from './serving/sql-deployment-store.js';
import type { Database } from './schema.js';
import { SqlTrackingStore } from './tracking/sql-tracking-store.js';

/** Every store of every module, bound to one connection or transaction. */
export type MetadataStores = TrackingStores &
  ArtifactStores &
  LineageStores &
  RegistryStores &
  GovernanceStores &
  PromotionStores &
  AuditStores &
  DatasetStores &
  DeploymentStores &
  PipelineStores;

export function createSqlStores(
  db: Kysely<Database> | Transaction<Database>,
  helpers: SqlHelpers,
  audit = NO_AUDIT_OUTSIDE_TRANSACTION,
): MetadataStores {
  return {
    audit,
    identity: new SqlIdentityStore(db),
    policies: new SqlPolicyStore(db),
    auditLog: new SqlAuditStore(db),
    promotions: new SqlPromotionStore(db),
    tracking: new SqlTrackingStore(db, helpers),
    artifacts: new SqlArtifactIndexStore(db),
    lineage: new SqlLineageStore(db, helpers),
    registry: new SqlRegistryStore(db, helpers),
    datasets: new SqlDatasetStore(db, helpers),
    deployments: new SqlDeploymentStore(db, helpers),
    pipelines: new SqlPipelineStore(db, helpers),
  };
}

/**
 * Opens one database transaction per use case; the audit events the use case
 * records are chained and written just before it commits. Driver errors leave
 * as Cairn errors.
 */
export function createSqlTransactor(
  database: MetadataDatabase,
  clock: Clock = systemClock,
): Transactor<MetadataStores> {
  return {
    async run<T>(work: (stores: MetadataStores) => Promise<T>): Promise<T> {
      try {
        return await database.db.transaction().execute(async (trx) => {
          const audit = new PendingAuditEvents(clock);
          const result = await work(createSqlStores(trx, database.helpers, audit));
          await appendAuditEvents(trx, database.helpers, audit.drain());
          return result;
        });
      } catch (error) {
        throw translateDbError(error);
      }
    },
  };
}
