import { TRACKING_LIMITS } from '@cairn/contract';
import type { AccessControl } from '../governance/index.js';
import { lifecycleStagesFor, type MetricPoint, type Page, type RunRecord } from './entities.js';
import { parseRunOrderBy } from './order-by.js';
import { decodePageToken, encodePageToken } from './page-token.js';
import type { ProjectIndex } from './project-index.js';
import type { RunAccess } from './run-access.js';
import { runTarget } from './run-audit.js';
import { parseRunFilter } from './search-filter.js';
import { checkStringList, invalid, type SearchOptions } from './search-options.js';
import type { TrackingStore } from './tracking.store.js';
import {
  checkId,
  checkKey,
  checkMaxResults,
  checkOptionalString,
  checkString,
  checkViewType,
} from './validation.js';

export interface RunQueriesDeps {
  store: TrackingStore;
  access: AccessControl;
  projects: ProjectIndex;
  runs: RunAccess;
}

const noRuns = (): Page<RunRecord> => ({ items: [], nextPageToken: undefined });

/** Run searches and metric histories: only what the caller may read. */
export class RunQueries {
  constructor(private readonly deps: RunQueriesDeps) {}

  async searchRuns(options: SearchOptions & { experimentIds?: unknown }): Promise<Page<RunRecord>> {
    const experimentIds = checkStringList(options.experimentIds, 'experiment_ids');
    experimentIds.forEach((id, i) => checkId(id, `experiment_ids[${i}]`));
    const filter =
      options.filter === undefined || options.filter === null || options.filter === ''
        ? undefined
        : parseRunFilter(checkString(options.filter, 'filter', 20_000));
    const orderBy = parseRunOrderBy(checkStringList(options.orderBy, 'order_by'));
    const limit = checkMaxResults(options.maxResults, 'max_results', TRACKING_LIMITS.maxResultsRuns);
    const offset = decodePageToken(checkOptionalString(options.pageToken, 'page_token', 1000));
    const viewType = checkViewType(options.viewType, 'run_view_type');
    if (experimentIds.length === 0) return noRuns();
    const projectIds = await this.readableScope(experimentIds);
    if (projectIds !== undefined && projectIds.length === 0) return noRuns();
    const { store } = this.deps;
    const infos = await store.searchRuns({
      experimentIds,
      projectIds,
      filter,
      orderBy,
      lifecycleStages: lifecycleStagesFor(viewType),
      offset,
      limit,
    });
    const page = infos.slice(0, limit);
    const ids = page.map((info) => info.runId);
    const [data, inputs] = await Promise.all([store.loadRunData(ids), store.loadRunInputs(ids)]);
    return {
      items: page.map((info) => ({
        info,
        data: data.get(info.runId) ?? { metrics: [], params: {}, tags: {} },
        inputs: { datasetInputs: inputs.get(info.runId) ?? [] },
      })),
      nextPageToken: infos.length > limit ? encodePageToken(offset + limit) : undefined,
    };
  }

  /**
   * Naming an experiment the caller may not read is refused outright, as
   * MLflow's auth does; the store query is limited to readable projects as
   * well, so an id that is no experiment yet can leak nothing either.
   * `undefined` means no limit (an admin, or auth off).
   */
  private async readableScope(experimentIds: readonly string[]): Promise<string[] | undefined> {
    const projects = await this.deps.projects.ofExperiments(experimentIds);
    for (const [experimentId, projectId] of projects) {
      this.deps.access.require('read', projectId, {
        action: 'runs.search',
        target: { kind: 'experiment', id: experimentId },
      });
    }
    const readable = this.deps.access.readableProjects();
    return readable === 'all' ? undefined : readable;
  }

  async getMetricHistory(
    rawRunId: unknown,
    rawKey: unknown,
    page: { maxResults?: unknown; pageToken?: unknown } = {},
  ): Promise<Page<MetricPoint>> {
    const key = checkKey(rawKey, 'metric_key');
    const { info } = await this.deps.runs.checked(rawRunId, {
      permission: 'read',
      action: 'runs.metric_history',
    });
    const limit =
      page.maxResults === undefined || page.maxResults === null
        ? undefined
        : checkMaxResults(page.maxResults, 'max_results', 1_000_000);
    const offset = decodePageToken(checkOptionalString(page.pageToken, 'page_token', 1000));
    const points = await this.deps.store.getMetricHistory(info.runId, key, {
      offset,
      limit: limit === undefined ? undefined : limit + 1,
    });
    if (limit === undefined || points.length <= limit) return { items: points, nextPageToken: undefined };
    return { items: points.slice(0, limit), nextPageToken: encodePageToken(offset + limit) };
  }

  /** Histories of up to 100 runs; every known run must be readable (unknown ids simply have none). */
  async getMetricHistoryBulk(
    rawRunIds: unknown,
    rawKey: unknown,
    rawMaxResults?: unknown,
  ): Promise<Array<MetricPoint & { runId: string }>> {
    const runIds = checkStringList(rawRunIds, 'run_ids');
    if (runIds.length === 0 || runIds.length > 100)
      throw invalid('run_ids must list 1 to 100 run ids', 'run_ids');
    runIds.forEach((id, i) => checkId(id, `run_ids[${i}]`));
    const key = checkKey(rawKey, 'metric_key');
    const limit = checkMaxResults(rawMaxResults ?? 25_000, 'max_results', 25_000);
    const infos = await this.deps.store.getRunInfos(runIds);
    const projects = await this.deps.projects.ofExperiments(infos.map((i) => i.experimentId));
    for (const info of infos) {
      const projectId = projects.get(info.experimentId);
      if (projectId === undefined) continue;
      this.deps.access.require('read', projectId, {
        action: 'runs.metric_history',
        target: runTarget(info.runId),
      });
    }
    return this.deps.store.getMetricHistories(runIds, [key], limit);
  }
}
