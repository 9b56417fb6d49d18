import type { ArtifactOwner, ArtifactOwnerResolver } from './modules/artifacts/index.js';
import type { NodeDescriber } from './modules/lineage/index.js';
import {
  PINNED_ARTIFACT_ROOT,
  type ModelVersionService,
  type RegistryStore,
} from './modules/registry/index.js';
import type { TrackingService } from './modules/tracking/index.js';

/**
 * Which project owns what, for checks that cross modules. Lives beside app.ts
 * because the artifact and lineage modules sit below tracking and the registry
 * in the module graph and must not import them; app.ts hands them these
 * callbacks instead.
 */

/** Where the registry's routes stage a model folder before it is registered (`/model-uploads/{uuid}/…`). */
const UPLOAD_ROOT = '_uploads';

/** The project of each model version (through its model), in two batched reads; unknown ids are left out. */
export async function projectsOfVersions(
  registry: RegistryStore,
  versionIds: readonly string[],
): Promise<Map<string, string>> {
  const versions = await registry.getVersionsByIds(versionIds);
  const models = await registry.getModelsByIds([...new Set(versions.map((v) => v.modelId))]);
  const projectOfModel = new Map(models.map((m) => [m.modelId, m.projectId]));
  const result = new Map<string, string>();
  for (const version of versions) {
    const projectId = projectOfModel.get(version.modelId);
    if (projectId !== undefined) result.set(version.versionId, projectId);
  }
  return result;
}

/**
 * `<experiment>/<run>/artifacts/…` → the run's project; `_registry/<version>/…`
 * → the model's project; `_uploads/<uuid>/…` → staging; anything else → server.
 */
export function artifactOwners(deps: {
  tracking: TrackingService;
  registry: RegistryStore;
}): ArtifactOwnerResolver {
  return async (path: string): Promise<ArtifactOwner> => {
    const [top = '', second] = path.split('/', 2);
    if (top === UPLOAD_ROOT && second !== undefined) return { kind: 'staging' };
    if (top === PINNED_ARTIFACT_ROOT) {
      if (second === undefined) return { kind: 'server' };
      const projectId = (await projectsOfVersions(deps.registry, [second])).get(second);
      return projectId === undefined ? { kind: 'server' } : { kind: 'project', projectId };
    }
    const projectId = await deps.tracking.projectOfArtifactPath(path);
    return projectId === undefined ? { kind: 'server' } : { kind: 'project', projectId };
  };
}

/** The registry's version describer with each version's project, so lineage can redact what a caller may not read. */
export function modelVersionDescriber(versions: ModelVersionService, registry: RegistryStore): NodeDescriber {
  return {
    async describe(_kind, ids) {
      const [descriptions, projects] = await Promise.all([
        versions.describeVersions(ids),
        projectsOfVersions(registry, ids),
      ]);
      return new Map(
        [...descriptions].map(([id, description]) => [
          id,
          { ...description, projectId: projects.get(id) ?? null },
        ]),
      );
    },
  };
}
