import { CairnError, TRACKING_LIMITS, type ViewType } from '@cairn/contract';
import type { Clock } from '../../kernel/clock.js';
import type { Transactor } from '../../kernel/transactor.js';
import type { AccessControl, AuditStores, Permission } from '../governance/index.js';
import {
  DEFAULT_EXPERIMENT_ID,
  DEFAULT_EXPERIMENT_NAME,
  DEFAULT_PROJECT_ID,
  defaultExperimentArtifactLocation,
  lifecycleStagesFor,
  PROJECT_TAG,
  type ExperimentRecord,
  type Page,
} from './entities.js';
import { parseExperimentOrderBy } from './order-by.js';
import { decodePageToken, encodePageToken } from './page-token.js';
import { ProjectIndex } from './project-index.js';
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
  transactor: Transactor<TrackingStores & AuditStores>;
  clock: Clock;
  access: AccessControl;
}

const experimentTarget = (experimentId: string): { kind: string; id: string } => ({
  kind: 'experiment',
  id: experimentId,
});

/**
 * Experiment use cases: names, lifecycle (with its runs), tags, search. Every
 * one checks the caller's permission in the experiment's project before its
 * transaction opens, and every change records its audit event inside it.
 */
export class ExperimentService {
  /** Shared with the run use cases: runs are checked against their experiment's project. */
  readonly projects: ProjectIndex;

  constructor(private readonly deps: ExperimentServiceDeps) {
    this.projects = new ProjectIndex(deps.store);
  }

  private get store(): TrackingStore {
    return this.deps.store;
  }

  get access(): AccessControl {
    return this.deps.access;
  }

  /** Throws PERMISSION_DENIED unless the caller holds `permission` in the experiment's project. */
  authorize(experiment: ExperimentRecord, permission: Permission, action: string): void {
    this.deps.access.require(permission, experiment.projectId, {
      action,
      target: experimentTarget(experiment.experimentId),
    });
  }

  /** Creates the `default` project and MLflow's experiment "0" when missing. Idempotent. */
  async ensureDefaults(): Promise<void> {
    const now = this.deps.clock.now();
    await this.deps.transactor.run(async ({ tracking, audit }) => {
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
      // The first event of every chain: the server setting itself up, as `system`.
      audit.record({
        action: 'experiments.create',
        target: { kind: 'experiment', id: DEFAULT_EXPERIMENT_ID },
        projectId: DEFAULT_PROJECT_ID,
        details: { name: DEFAULT_EXPERIMENT_NAME, project: DEFAULT_PROJECT_ID, createdBy: 'server start' },
      });
    });
  }

  /**
   * `project` names the project (default `default`); MLflow clients, which
   * cannot send it, name it with the tag `cairn.project`.
   */
  async createExperiment(input: {
    name: unknown;
    artifactLocation?: unknown;
    tags?: unknown;
    project?: unknown;
  }): Promise<ExperimentRecord> {
    const name = checkExperimentName(input.name);
    const customLocation = checkOptionalString(input.artifactLocation, 'artifact_location', 2048);
    const tags = checkArray(input.tags, 'tags').map((t, i) =>
      checkKeyValue(t, `tags[${i}]`, TRACKING_LIMITS.maxExperimentTagValueLength),
    );
    const projectId = projectOf(input.project, tags);
    this.deps.access.require('write', projectId, {
      action: 'experiments.create',
      target: { kind: 'project', id: projectId },
    });
    const now = this.deps.clock.now();
    const experiment = await this.deps.transactor.run(async ({ tracking, audit }) => {
      if (!(await tracking.projectExists(projectId))) {
        throw new CairnError(
          'NOT_FOUND',
          `Project '${projectId}' does not exist; create it first (cairn projects create ${projectId}) or pick another.`,
          { field: 'project' },
        );
      }
      const existing = await tracking.getExperimentByName(name);
      if (existing !== undefined) {
        throw new CairnError(
          'ALREADY_EXISTS',
          `Experiment '${name}' already exists${existing.lifecycleStage === 'deleted' ? ' (deleted; restore it or pick another name)' : ''}.`,
          { field: 'name' },
        );
      }
      const experimentId = await tracking.nextExperimentId();
      const created: ExperimentRecord = {
        experimentId,
        projectId,
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
      await tracking.insertExperiment(created);
      audit.record({
        action: 'experiments.create',
        target: experimentTarget(experimentId),
        projectId,
        details: { name, artifactLocation: created.artifactLocation, tags: created.tags },
      });
      return created;
    });
    this.projects.remember(experiment.experimentId, projectId);
    return experiment;
  }

  async getExperiment(rawId: unknown): Promise<ExperimentRecord> {
    const experiment = await this.loadExperiment(rawId);
    this.authorize(experiment, 'read', 'experiments.get');
    return experiment;
  }

  /** The experiment, unchecked: for use cases that check their own permission. */
  async loadExperiment(rawId: unknown): Promise<ExperimentRecord> {
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
    this.authorize(experiment, 'read', 'experiments.get');
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
    const readable = this.deps.access.readableProjects();
    if (readable !== 'all' && readable.length === 0) return { items: [], nextPageToken: undefined };
    const rows = await this.store.searchExperiments({
      projectIds: readable === 'all' ? undefined : readable,
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
    const experiment = await this.loadExperiment(rawId);
    this.authorize(experiment, 'write', 'experiments.rename');
    if (experiment.lifecycleStage !== 'active') {
      throw invalid(`Cannot rename a non-active experiment ${experiment.experimentId}.`, 'experiment_id');
    }
    if (experiment.name === name) return experiment;
    return this.deps.transactor.run(async ({ tracking, audit }) => {
      if ((await tracking.getExperimentByName(name)) !== undefined) {
        throw new CairnError('ALREADY_EXISTS', `Experiment '${name}' already exists.`, { field: 'new_name' });
      }
      const now = this.deps.clock.now();
      await tracking.updateExperiment(experiment.experimentId, { name, lastUpdateTime: now });
      audit.record({
        action: 'experiments.rename',
        target: experimentTarget(experiment.experimentId),
        projectId: experiment.projectId,
        details: { from: experiment.name, to: name },
      });
      return { ...experiment, name, lastUpdateTime: now };
    });
  }

  async deleteExperiment(rawId: unknown): Promise<void> {
    const experiment = await this.loadExperiment(rawId);
    this.authorize(experiment, 'write', 'experiments.delete');
    if (experiment.experimentId === DEFAULT_EXPERIMENT_ID) {
      throw invalid(
        'Cannot delete the default experiment "0"; it is where runs without an experiment go.',
        'experiment_id',
      );
    }
    if (experiment.lifecycleStage === 'deleted') return;
    const now = this.deps.clock.now();
    await this.deps.transactor.run(async ({ tracking, audit }) => {
      await tracking.updateExperiment(experiment.experimentId, {
        lifecycleStage: 'deleted',
        lastUpdateTime: now,
      });
      await tracking.setRunsLifecycleForExperiment(experiment.experimentId, {
        from: 'active',
        to: 'deleted',
        deletedTime: now,
      });
      audit.record({
        action: 'experiments.delete',
        target: experimentTarget(experiment.experimentId),
        projectId: experiment.projectId,
        details: { name: experiment.name },
      });
    });
  }

  async restoreExperiment(rawId: unknown): Promise<void> {
    const experiment = await this.loadExperiment(rawId);
    this.authorize(experiment, 'write', 'experiments.restore');
    if (experiment.lifecycleStage === 'active') return;
    const now = this.deps.clock.now();
    await this.deps.transactor.run(async ({ tracking, audit }) => {
      await tracking.updateExperiment(experiment.experimentId, {
        lifecycleStage: 'active',
        lastUpdateTime: now,
      });
      await tracking.setRunsLifecycleForExperiment(experiment.experimentId, {
        from: 'deleted',
        to: 'active',
        deletedTime: null,
      });
      audit.record({
        action: 'experiments.restore',
        target: experimentTarget(experiment.experimentId),
        projectId: experiment.projectId,
        details: { name: experiment.name },
      });
    });
  }

  async setExperimentTag(rawId: unknown, rawKey: unknown, rawValue: unknown): Promise<void> {
    const key = checkKey(rawKey, 'key');
    const value = checkString(rawValue, 'value', TRACKING_LIMITS.maxExperimentTagValueLength);
    const experiment = await this.loadExperiment(rawId);
    this.authorize(experiment, 'write', 'experiments.tag_set');
    this.assertActiveExperiment(experiment);
    await this.deps.transactor.run(async ({ tracking, audit }) => {
      await tracking.setExperimentTag(experiment.experimentId, { key, value });
      audit.record({
        action: 'experiments.tag_set',
        target: experimentTarget(experiment.experimentId),
        projectId: experiment.projectId,
        details: { key, value },
      });
    });
  }

  async deleteExperimentTag(rawId: unknown, rawKey: unknown): Promise<void> {
    const key = checkKey(rawKey, 'key');
    const experiment = await this.loadExperiment(rawId);
    this.authorize(experiment, 'write', 'experiments.tag_delete');
    this.assertActiveExperiment(experiment);
    const removed = await this.deps.transactor.run(async ({ tracking, audit }) => {
      const deleted = await tracking.deleteExperimentTag(experiment.experimentId, key);
      if (deleted) {
        audit.record({
          action: 'experiments.tag_delete',
          target: experimentTarget(experiment.experimentId),
          projectId: experiment.projectId,
          details: { key },
        });
      }
      return deleted;
    });
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

/** The project named by `project` or, for MLflow clients, by the tag `cairn.project`; they must agree. */
function projectOf(raw: unknown, tags: ReadonlyArray<{ key: string; value: string }>): string {
  const given = raw === undefined || raw === null || raw === '' ? undefined : checkId(raw, 'project');
  const tagged = tags.findLast((t) => t.key === PROJECT_TAG)?.value;
  if (given !== undefined && tagged !== undefined && tagged !== given) {
    throw invalid(
      `project '${given}' and tag ${PROJECT_TAG} '${tagged}' differ; give one of them.`,
      'project',
    );
  }
  if (given !== undefined) return given;
  return tagged === undefined || tagged === '' ? DEFAULT_PROJECT_ID : checkId(tagged, `tags.${PROJECT_TAG}`);
}
