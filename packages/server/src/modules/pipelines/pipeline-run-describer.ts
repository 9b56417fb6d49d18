import type { NodeDescriber, NodeDescription, NodeKind } from '../lineage/index.js';
import type { PipelineStore } from './pipelines.store.js';

/** Lineage labels for pipeline runs: the pipeline's name, the run's status and times, its project. */
export class PipelineRunDescriber implements NodeDescriber {
  constructor(private readonly store: Pick<PipelineStore, 'getRun'>) {}

  async describe(_kind: NodeKind, ids: readonly string[]): Promise<ReadonlyMap<string, NodeDescription>> {
    const described = new Map<string, NodeDescription>();
    // A graph holds a few pipeline runs at most: one read each is fine.
    for (const id of ids) {
      const run = await this.store.getRun(id);
      if (run === undefined) continue;
      described.set(id, {
        label: `${run.pipelineName} ${id}`,
        attributes: { status: run.status, createdAt: run.createdAt, endedAt: run.endedAt },
        projectId: run.projectId,
      });
    }
    return described;
  }
}
