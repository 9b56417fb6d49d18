import type { Kysely, Selectable, Transaction } from 'kysely';
import type { PolicyStore, PolicyVersionRecord } from '../../../modules/governance/index.js';
import type { Database, ProjectPoliciesTable } from '../schema.js';

function toPolicy(row: Selectable<ProjectPoliciesTable>): PolicyVersionRecord {
  return {
    projectId: row.project_id,
    version: Number(row.version),
    document: row.document,
    source: row.source,
    sourceFormat: row.source_format === 'yaml' ? 'yaml' : 'json',
    comment: row.comment,
    createdAt: Number(row.created_ms),
    createdBy: row.created_by,
  };
}

export class SqlPolicyStore implements PolicyStore {
  constructor(private readonly db: Kysely<Database> | Transaction<Database>) {}

  async latestPolicy(projectId: string): Promise<PolicyVersionRecord | undefined> {
    const row = await this.db
      .selectFrom('project_policies')
      .selectAll()
      .where('project_id', '=', projectId)
      .orderBy('version', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row === undefined ? undefined : toPolicy(row);
  }

  async getPolicy(projectId: string, version: number): Promise<PolicyVersionRecord | undefined> {
    const row = await this.db
      .selectFrom('project_policies')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('version', '=', version)
      .executeTakeFirst();
    return row === undefined ? undefined : toPolicy(row);
  }

  async listPolicies(projectId: string): Promise<PolicyVersionRecord[]> {
    const rows = await this.db
      .selectFrom('project_policies')
      .selectAll()
      .where('project_id', '=', projectId)
      .orderBy('version', 'desc')
      .execute();
    return rows.map(toPolicy);
  }

  async insertPolicy(policy: PolicyVersionRecord): Promise<void> {
    await this.db
      .insertInto('project_policies')
      .values({
        project_id: policy.projectId,
        version: policy.version,
        document: policy.document,
        source: policy.source,
        source_format: policy.sourceFormat,
        comment: policy.comment,
        created_ms: policy.createdAt,
        created_by: policy.createdBy,
      })
      .execute();
  }
}
