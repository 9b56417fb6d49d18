import { CairnError } from '@cairn/contract';
import type { ModelVersionRecord, RegisteredModelRecord, Stage } from './entities.js';
import { authorizedModel, requireVersion, versionTarget, type RegistryContext } from './registry-context.js';
import { REGISTRY_LIMITS, checkModelName, checkStage, checkText, checkVersionNumber } from './validation.js';

const STAGE_REFERENCES = ['none', 'staging', 'production', 'archived'];

/** Reads of one version by reference, each after the caller's `read` in the model's project. */
export class VersionResolver {
  constructor(private readonly ctx: Pick<RegistryContext, 'store' | 'access'>) {}

  async version(rawName: unknown, rawVersion: unknown, action: string): Promise<ModelVersionRecord> {
    const name = checkModelName(rawName);
    const version = checkVersionNumber(rawVersion);
    const target = versionTarget(name, version);
    const model = await authorizedModel(this.ctx, { name, permission: 'read', action, target });
    return requireVersion(this.ctx.store, model, version);
  }

  /**
   * `name@alias`, `name/3`, `name/latest`, `name` (the newest version), or the
   * same as a `models:/` URI.
   */
  async resolve(rawReference: unknown): Promise<ModelVersionRecord> {
    const text = checkText(rawReference, 'model', REGISTRY_LIMITS.maxNameLength + 300).replace(
      /^models:\//,
      '',
    );
    const at = text.lastIndexOf('@');
    const slash = text.lastIndexOf('/');
    if (at > 0) return this.byAlias(text.slice(0, at), text.slice(at + 1));
    const name = slash > 0 ? text.slice(0, slash) : text;
    const reference = slash > 0 ? text.slice(slash + 1) : 'latest';
    if (reference.toLowerCase() !== 'latest') {
      if (!STAGE_REFERENCES.includes(reference.toLowerCase())) {
        return this.version(name, reference, 'model_versions.get');
      }
      const [latest] = await this.latestIn(name, checkStage(reference, 'model'));
      if (latest === undefined)
        throw new CairnError('NOT_FOUND', `No version of ${name} is in stage ${reference}`, {
          field: 'model',
        });
      return latest;
    }
    const model = await this.readableModel(name, 'model');
    const [newest] = await this.ctx.store.searchVersions({
      filter: { kind: 'compare', entity: 'attribute', key: 'name', op: '=', value: model.name },
      orderBy: [{ entity: 'attribute', key: 'version_number', ascending: false }],
      offset: 0,
      limit: 1,
    });
    if (newest === undefined)
      throw new CairnError('NOT_FOUND', `Registered model ${model.name} has no versions`, { field: 'model' });
    return newest;
  }

  async byAlias(rawName: unknown, rawAlias: unknown): Promise<ModelVersionRecord> {
    const model = await this.readableModel(rawName, 'name');
    const alias = checkText(rawAlias, 'alias', REGISTRY_LIMITS.maxAliasLength);
    const version = model.aliases[alias];
    if (version === undefined) {
      throw new CairnError('NOT_FOUND', `Registered model alias ${alias} not found on model ${model.name}`, {
        field: 'alias',
      });
    }
    return requireVersion(this.ctx.store, model, version);
  }

  private async latestIn(name: string, stage: Stage): Promise<ModelVersionRecord[]> {
    const model = await this.readableModel(name, 'model');
    return this.ctx.store.latestVersions(model.modelId, [stage]);
  }

  private readableModel(rawName: unknown, field: string): Promise<RegisteredModelRecord> {
    const name = checkModelName(rawName, field);
    return authorizedModel(this.ctx, { name, permission: 'read', action: 'models.resolve', field });
  }
}
