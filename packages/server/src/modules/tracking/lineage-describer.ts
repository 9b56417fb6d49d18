import type { NodeDescriber, NodeDescription, NodeKind } from '../lineage/index.js';
import type { TrackingStore } from './tracking.store.js';

/** The node kinds tracking owns and describes. */
export const TRACKING_NODE_KINDS = ['run', 'dataset', 'code_version'] as const satisfies readonly NodeKind[];

const SHORT_COMMIT = 12;

/**
 * Labels and details of tracking's lineage nodes, one batched read per kind,
 * with the project each belongs to (a dataset: its experiment's) so lineage
 * can redact what the caller may not read.
 * Registered with the lineage service in app.ts; the attribute names are the
 * ones the OpenLineage export reads (modules/lineage/openlineage.ts).
 */
export class TrackingNodeDescriber implements NodeDescriber {
  constructor(private readonly store: TrackingStore) {}

  async describe(kind: NodeKind, ids: readonly string[]): Promise<ReadonlyMap<string, NodeDescription>> {
    if (ids.length === 0) return new Map();
    if (kind === 'run') return this.runs(ids);
    if (kind === 'dataset') return this.datasets(ids);
    if (kind === 'code_version') return codeVersions(ids);
    return new Map();
  }

  private async runs(ids: readonly string[]): Promise<Map<string, NodeDescription>> {
    const infos = await this.store.getRunInfos(ids);
    const experimentIds = [...new Set(infos.map((i) => i.experimentId))];
    const [experiments, projects] = await Promise.all([
      this.store.getExperimentNames(experimentIds),
      this.store.getExperimentProjects(experimentIds),
    ]);
    return new Map(
      infos.map((info) => [
        info.runId,
        {
          label: info.runName,
          projectId: projects.get(info.experimentId) ?? null,
          attributes: {
            experimentId: info.experimentId,
            experimentName: experiments.get(info.experimentId) ?? null,
            status: info.status,
            startTime: info.startTime,
            endTime: info.endTime,
            user: info.userId,
            lifecycleStage: info.lifecycleStage,
          },
        },
      ]),
    );
  }

  private async datasets(ids: readonly string[]): Promise<Map<string, NodeDescription>> {
    const datasets = await this.store.getDatasets(ids);
    const projects = await this.store.getExperimentProjects([
      ...new Set(datasets.map((d) => d.experimentId)),
    ]);
    return new Map(
      datasets.map((d) => [
        d.datasetId,
        {
          label: d.name,
          projectId: projects.get(d.experimentId) ?? null,
          attributes: {
            name: d.name,
            digest: d.digest,
            source: d.source,
            sourceType: d.sourceType,
            experimentId: d.experimentId,
          },
        },
      ]),
    );
  }
}

/** A code version is named by its commit; there is nothing to read. */
function codeVersions(ids: readonly string[]): Map<string, NodeDescription> {
  return new Map(ids.map((id) => [id, { label: id.slice(0, SHORT_COMMIT), attributes: { commit: id } }]));
}
