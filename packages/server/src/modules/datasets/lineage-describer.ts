import type { NodeDescriber, NodeDescription, NodeKind } from '../lineage/index.js';
import type { DatasetStore } from './datasets.store.js';

/**
 * Labels and details of `dataset_version` lineage nodes (a run's input matched
 * to a version), with the dataset's project so lineage can redact what the
 * caller may not read. Registered with the lineage service in app.ts; `name`,
 * `version` and `digest` are what the OpenLineage export reads.
 */
export class DatasetVersionDescriber implements NodeDescriber {
  constructor(private readonly store: DatasetStore) {}

  async describe(kind: NodeKind, ids: readonly string[]): Promise<ReadonlyMap<string, NodeDescription>> {
    if (kind !== 'dataset_version' || ids.length === 0) return new Map();
    const versions = await this.store.getVersionsByIds(ids);
    const datasets = await this.store.getDatasetsByIds([...new Set(versions.map((v) => v.datasetId))]);
    const byId = new Map(datasets.map((d) => [d.datasetId, d]));
    const described = new Map<string, NodeDescription>();
    for (const v of versions) {
      const dataset = byId.get(v.datasetId);
      if (dataset === undefined) continue;
      described.set(v.versionId, {
        label: `${dataset.name}@v${v.version}`,
        projectId: dataset.projectId,
        attributes: {
          name: dataset.name,
          version: v.version,
          message: v.message,
          author: v.author,
          createdAt: v.createdAt,
          digest: v.digest,
          files: v.fileCount,
          bytes: v.sizeBytes,
        },
      });
    }
    return described;
  }
}
