import type { AuditTarget } from '../governance/index.js';
import { PINNED_ARTIFACT_ROOT, type ModelVersionRecord } from './entities.js';
import {
  resolveArtifactFiles,
  runIdFromArtifactPath,
  sortFiles,
  type ArtifactLookup,
  type ResolvedFiles,
  type RunLookup,
} from './model-files.js';
import type { ModelSource } from './model-source.js';
import type { RegistryContext } from './registry-context.js';

/** What checking a source run's project needs from tracking (its experiment service satisfies it). */
export interface ExperimentLookup {
  getExperiment(experimentId: unknown): Promise<{ projectId: string }>;
}

export interface VersionSourceDeps {
  runs: RunLookup;
  experiments: ExperimentLookup;
  artifacts: ArtifactLookup;
}

/**
 * Where a new version's files come from, and whether the caller may read
 * them: registering copies files and links lineage, so a writer in one
 * project must not pull a run or a model out of a project they cannot read.
 */
export class VersionSources {
  constructor(
    private readonly ctx: Pick<RegistryContext, 'store' | 'access'>,
    private readonly deps: VersionSourceDeps & {
      /** Resolves `models:/…` with the read check of an ordinary read. */
      resolveModel: (reference: string) => Promise<ModelVersionRecord>;
    },
  ) {}

  async resolve(source: ModelSource): Promise<ResolvedFiles> {
    if (source.kind !== 'model') {
      await this.requireReadable(source);
      return resolveArtifactFiles(source, this.deps);
    }
    const from = await this.deps.resolveModel(
      `${source.name}${source.reference.startsWith('@') ? '' : '/'}${source.reference}`,
    );
    return {
      files: sortFiles(await this.ctx.store.listFiles(from.versionId, '')),
      runId: from.runId ?? undefined,
    };
  }

  /** The caller may read the run in its project (a run named by `run_id` alongside another source). */
  async requireRunReadable(runId: string, action: string): Promise<void> {
    if (this.ctx.access.caller().isAdmin) return;
    const run = await this.deps.runs.getRun(runId);
    const { projectId } = await this.deps.experiments.getExperiment(run.info.experimentId);
    this.require(projectId, { action, target: { kind: 'run', id: run.info.runId } });
  }

  private async requireReadable(source: Exclude<ModelSource, { kind: 'model' }>): Promise<void> {
    // Admins (and the local user) read everything; skip the look-ups so local mode behaves as before.
    if (this.ctx.access.caller().isAdmin) return;
    const action = 'model_versions.create';
    if (source.kind === 'run') return this.requireRunReadable(source.runId, action);
    const pinned = new RegExp(`^${PINNED_ARTIFACT_ROOT}/([^/]+)`).exec(source.path);
    if (pinned !== null) {
      const projectId = await this.ctx.store.projectOfVersion(pinned[1] ?? '');
      if (projectId !== undefined) {
        this.require(projectId, { action, target: { kind: 'model_version', id: pinned[1] ?? '' } });
      }
      return;
    }
    const runId = runIdFromArtifactPath(source.path);
    if (runId !== undefined) await this.requireRunReadable(runId, action);
  }

  private require(projectId: string, attempt: { action: string; target: AuditTarget }): void {
    this.ctx.access.require('read', projectId, attempt);
  }
}
