import type { NodeDescriber, NodeDescription, NodeKind } from '../lineage/index.js';
import type { DeploymentStore } from './deployments.store.js';

/** Lineage labels for deployment nodes: the name, its current revision and project. */
export class DeploymentDescriber implements NodeDescriber {
  constructor(private readonly store: Pick<DeploymentStore, 'getDeployment'>) {}

  async describe(_kind: NodeKind, ids: readonly string[]): Promise<ReadonlyMap<string, NodeDescription>> {
    const described = new Map<string, NodeDescription>();
    // A version is deployed to a handful of deployments at most: one read each is fine.
    for (const id of ids) {
      const deployment = await this.store.getDeployment(id);
      if (deployment === undefined) continue;
      described.set(id, {
        label: deployment.name,
        attributes: { revision: deployment.currentRevision, createdAt: deployment.createdAt },
        projectId: deployment.projectId,
      });
    }
    return described;
  }
}
