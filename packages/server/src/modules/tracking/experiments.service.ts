import { CairnError, TRACKING_LIMITS, type ViewType } from '@cairn/contract';
import type { Clock } from '../../kernel/clock.js';
import type { Transactor } from '../../kernel/transactor.js';
import {
  DEFAULT_EXPERIMENT_ID,
  DEFAULT_EXPERIMENT_NAME,
  DEFAULT_PROJECT_ID,
  defaultExperimentArtifactLocation,
  lifecycleStagesFor,
  type ExperimentRecord,
  type Page,
} from './entities.js';
import { parseExperimentOrderBy } from './order-by.js';
import { decodePageToken, encodePageToken } from './page-token.js';
import { parseExperimentFilter } from './search-filter.js';
import { checkStringList, invalid, type SearchOptions } from './search-options.js';
import type { TrackingStore, TrackingStores } from './tracking.store.js';
import {
  checkArray,
  checkExperimentName,
  checkId,
  checkKey,
  checkKeyValue,
  checkMaxResults,
  checkOptionalString,
  checkString,
  checkViewType,
} from './validation.js';

export interface ExperimentServiceDeps {
  /** For reads outside a transaction. */
  store: TrackingStore;
  transactor: Transactor<TrackingStores>;
  clock: Clock;
}

/** Experiment use cases: names, lifecycle (with its runs), tags, search. */
export class ExperimentService {
  constructor(private readonly deps: ExperimentServiceDeps) {}

  private get store(): TrackingStore {
    return this.deps.store;
  }

  /** Creates the `default` project and MLflow's experiment "0" when missing. Idempotent. */
  async ensureDefaults(): Promise<void> {
    const now = this.deps.clock.now();
    await this.deps.transactor.run(async ({ tracking }) => {
      await tracking.ensureProject(DEFAULT_PROJECT_ID, DEFAULT_PROJECT_ID, now);
      if ((await tracking.getExperiment(DEFAULT_EXPERIMENT_ID)) !== undefined) return;
      if ((await tracking.getExperimentByName(DEFAULT_EXPERIMENT_NAME)) !== undefined) return;
      await tracking.insertExperiment({
        experimentId: DEFAULT_EXPERIMENT_ID,
        projectId: DEFAULT_PROJECT_ID,
        name: DEFAULT_EXPERIMENT_NAME,
        artifactLocation: defaultExperimentArtifactLocation(DEFAULT_EXPERIMENT_ID),
        lifecycleStage: 'active',
        creationTime: now,
        lastUpdateTime: now,
        tags: {},
      });
    });
  }

  async createExperiment(input: {
    name: unknown;
    artifactLocation?: unknown;
    tags?: unknown;
  }): Promise<ExperimentRecord> {
    const name = checkExperimentName(input.name);
    const customLocation = checkOptionalString(input.artifactLocation, 'artifact_location', 2048);
    const tags = checkArray(input.tags, 'tags').map((t, i) =>
      checkKeyValue(t, `tags[${i}]`, TRACKING_LIMITS.maxExperimentTagValueLength),
    );
    const now = this.deps.clock.now();
    return this.deps.transactor.run(async ({ tracking }) => {
      const existing = await tracking.getExperimentByName(name);
      if (existing !== undefined) {
        throw new CairnError(
          'ALREADY_EXISTS',
          `Experiment '${name}' already exists${existing.lifecycleStage === 'deleted' ? ' (deleted; restore it or pick another name)' : ''}.`,
          { field: 'name' },
        );
      }
      const experimentId = await tracking.nextExperimentId();
      const experiment: ExperimentRecord = {
        experimentId,
        projectId: DEFAULT_PROJECT_ID,
        name,
        artifactLocation:
          customLocation === undefined || customLocation === ''
            ? defaultExperimentArtifactLocation(experimentId)
            : customLocation,
        lifecycleStage: 'active',
        creationTime: now,
        lastUpdateTime: now,
        tags: Object.fromEntries(tags.map((t) => [t.key, t.value])),
      };
      await tracking.insertExperiment(experiment);
      return experiment;
    });
  }

  async getExperiment(rawId: unknown): Promise<ExperimentRecord> {
    const experimentId = checkId(rawId, 'experiment_id');
    const experiment = await this.store.getExperiment(experimentId);
    if (experiment === undefined) {
      throw new CairnError('NOT_FOUND', `No Experiment with id=${experimentId} exists`, {
        field: 'experiment_id',
      });
    }
    return experiment;
  }

  async getExperimentByName(rawName: unknown): Promise<ExperimentRecord> {
    const name = checkString(rawName, 'experiment_name', TRACKING_LIMITS.maxExperimentNameLength);
    const experiment = await this.store.getExperimentByName(name);
    if (experiment === undefined) {
      throw new CairnError('NOT_FOUND', `Could not find experiment with name '${name}'`, {
        field: 'experiment_name',
      });
    }
    return experiment;
  }

  async searchExperiments(options: SearchOptions): Promise<Page<ExperimentRecord>> {
    const filter =
      options.filter === undefined || options.filter === null
        ? undefined
        : parseExperimentFilter(checkString(options.filter, 'filter', 20_000));
    const orderBy = parseExperimentOrderBy(checkStringList(options.orderBy, 'order_by'));
    const limit = checkMaxResults(options.maxResults, 'max_results', TRACKING_LIMITS.maxResultsExperiments);
    const offset = decodePageToken(checkOptionalString(options.pageToken, 'page_token', 1000));
    const viewType: ViewType = checkViewType(options.viewType, 'view_type');
    const rows = await this.store.searchExperiments({
      filter,
      orderBy,
      lifecycleStages: lifecycleStagesFor(viewType),
      offset,
      limit,
    });
    return {
      items: rows.slice(0, limit),
      nextPageToken: rows.length > limit ? encodePageToken(offset + limit) : undefined,
    };
  }

  async renameExperiment(rawId: unknown, rawName: unknown): Promise<ExperimentRecord> {
    const name = checkExperimentName(rawName, 'new_name');
    const experiment = await this.getExperiment(rawId);
    if (experiment.lifecycleStage !== 'active') {
      throw invalid(`Cannot rename a non-active experiment ${experiment.experimentId}.`, 'experiment_id');
    }
    if (experiment.name === name) return experiment;
    return this.deps.transactor.run(async ({ tracking }) => {
      if ((await tracking.getExperimentByName(name)) !== undefined) {
        throw new CairnError('ALREADY_EXISTS', `Experiment '${name}' already exists.`, { field: 'new_name' });
      }
      const now = this.deps.clock.now();
      await tracking.updateExperiment(experiment.experimentId, { name, lastUpdateTime: now });
      return { ...experiment, name, lastUpdateTime: now };
    });
  }

  async deleteExperiment(rawId: unknown): Promise<void> {
    const experiment = await this.getExperiment(rawId);
    if (experiment.experimentId === DEFAULT_EXPERIMENT_ID) {
      throw invalid(
        'Cannot delete the default experiment "0"; it is where runs without an experiment go.',
        'experiment_id',
      );
    }
    if (experiment.lifecycleStage === 'deleted') return;
    const now = this.deps.clock.now();
    await this.deps.transactor.run(async ({ tracking }) => {
      await tracking.updateExperiment(experiment.experimentId, {
        lifecycleStage: 'deleted',
        lastUpdateTime: now,
      });
      await tracking.setRunsLifecycleForExperiment(experiment.experimentId, {
        from: 'active',
        to: 'deleted',
        deletedTime: now,
      });
    });
  }

  async restoreExperiment(rawId: unknown): Promise<void> {
    const experiment = await this.getExperiment(rawId);
    if (experiment.lifecycleStage === 'active') return;
    const now = this.deps.clock.now();
    await this.deps.transactor.run(async ({ tracking }) => {
      await tracking.updateExperiment(experiment.experimentId, {
        lifecycleStage: 'active',
        lastUpdateTime: now,
      });
      await tracking.setRunsLifecycleForExperiment(experiment.experimentId, {
        from: 'deleted',
        to: 'active',
        deletedTime: null,
      });
    });
  }

  async setExperimentTag(rawId: unknown, rawKey: unknown, rawValue: unknown): Promise<void> {
    const key = checkKey(rawKey, 'key');
    const value = checkString(rawValue, 'value', TRACKING_LIMITS.maxExperimentTagValueLength);
    const experiment = await this.getExperiment(rawId);
    this.assertActiveExperiment(experiment);
    await this.deps.transactor.run(({ tracking }) =>
      tracking.setExperimentTag(experiment.experimentId, { key, value }),
    );
  }

  async deleteExperimentTag(rawId: unknown, rawKey: unknown): Promise<void> {
    const key = checkKey(rawKey, 'key');
    const experiment = await this.getExperiment(rawId);
    this.assertActiveExperiment(experiment);
    const removed = await this.deps.transactor.run(({ tracking }) =>
      tracking.deleteExperimentTag(experiment.experimentId, key),
    );
    if (!removed) {
      throw new CairnError('NOT_FOUND', `No tag with name: ${key} in experiment ${experiment.experimentId}.`);
    }
  }

  assertActiveExperiment(experiment: ExperimentRecord): void {
    if (experiment.lifecycleStage !== 'active') {
      throw invalid(
        `The experiment ${experiment.experimentId} must be in the 'active' state. Current state is ${experiment.lifecycleStage}.`,
        'experiment_id',
      );
    }
  }
}
