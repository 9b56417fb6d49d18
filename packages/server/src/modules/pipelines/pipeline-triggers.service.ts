import { randomBytes } from 'node:crypto';
import {
  CairnError,
  DATASET_ALIAS_PATTERN,
  DATASET_NAME_PATTERN,
  isCairnError,
  PIPELINE_TITLE_PATTERN,
} from '@cairn/contract';
import type { Clock } from '../../kernel/clock.js';
import type { Transactor } from '../../kernel/transactor.js';
import { currentCaller, runAsCaller, SYSTEM_CALLER, type AccessControl } from '../governance/index.js';
import { checkSchedule, nextFireTime } from './cron-schedule.js';
import type { PipelineTriggerRecord } from './entities.js';
import type { PipelineDatasets, PipelineRunsService, RunView, StartInput } from './pipeline-runs.service.js';
import type { PipelineStore, PipelineStores } from './pipelines.store.js';
import { specAsDefinition } from './spec-definition.js';

export interface PipelineTriggersDeps {
  store: PipelineStore;
  transactor: Transactor<PipelineStores>;
  access: AccessControl;
  clock: Clock;
  runs: PipelineRunsService;
  datasets: PipelineDatasets;
  onError: (error: unknown, message: string) => void;
}

export interface CreateTriggerInput extends StartInput {
  name: unknown;
  schedule?: unknown;
  dataset?: unknown;
}

const DATASET = new RegExp(DATASET_NAME_PATTERN);
const ALIAS = new RegExp(DATASET_ALIAS_PATTERN);
const invalid = (message: string, field: string): CairnError =>
  new CairnError('INVALID_ARGUMENT', message, { field });

/**
 * Saved ways to start a pipeline: on a cron schedule, or when a dataset gets
 * a new version (or one of its aliases moves). `tick` fires what is due; any
 * number of servers may tick at once: a trigger's move is a compare-and-set,
 * and a run's trigger key is unique, so each schedule time and each dataset
 * version starts one run.
 */
export class PipelineTriggersService {
  constructor(private readonly deps: PipelineTriggersDeps) {}

  async create(input: CreateTriggerInput): Promise<PipelineTriggerRecord> {
    if (typeof input.name !== 'string' || !PIPELINE_TITLE_PATTERN.test(input.name)) {
      throw invalid(
        'name must be 1–128 letters, digits, ".", "_" or "-", starting with a letter or digit',
        'name',
      );
    }
    const hasSchedule = input.schedule !== undefined && input.schedule !== null;
    const hasDataset = input.dataset !== undefined && input.dataset !== null;
    if (hasSchedule === hasDataset) {
      throw invalid(
        'a trigger has either a schedule ({cron, timezone}) or a dataset ({name, alias}), not both',
        'schedule',
      );
    }
    const checked = await this.deps.runs.check(input, 'pipelines.triggers.create');
    const now = this.deps.clock.now();
    const record: PipelineTriggerRecord = {
      triggerId: `pt_${randomBytes(8).toString('hex')}`,
      projectId: checked.projectId,
      name: input.name,
      kind: hasSchedule ? 'schedule' : 'dataset',
      cron: null,
      timezone: null,
      dataset: null,
      alias: null,
      spec: checked.spec,
      definitionDigest: checked.definitionDigest,
      codeDigest: checked.codeDigest,
      params: checked.params,
      executor: checked.executor,
      enabled: true,
      nextAt: null,
      lastSeen: null,
      createdAt: now,
      createdBy: currentCaller()?.actor ?? 'local',
    };
    if (hasSchedule) {
      const raw = input.schedule as { cron?: unknown; timezone?: unknown };
      const schedule = checkSchedule(raw.cron, raw.timezone);
      Object.assign(record, { ...schedule, nextAt: nextFireTime({ ...schedule, after: now }) });
    } else {
      const raw = (input.dataset ?? {}) as { name?: unknown; alias?: unknown };
      if (typeof raw.name !== 'string' || !DATASET.test(raw.name))
        throw invalid('dataset.name must name a dataset', 'dataset.name');
      const alias = raw.alias === undefined || raw.alias === null || raw.alias === '' ? null : raw.alias;
      if (alias !== null && (typeof alias !== 'string' || !ALIAS.test(alias) || alias === 'latest')) {
        throw invalid(
          'dataset.alias must be an alias of the dataset (leave it out to fire on every new version)',
          'dataset.alias',
        );
      }
      // Fires from the next change on: what exists now is the baseline.
      const current = await this.current(raw.name, alias as string | null, { allowEmpty: true });
      Object.assign(record, { dataset: raw.name, alias, lastSeen: current });
    }
    await this.deps.transactor.run(async (stores) => {
      await stores.pipelines.insertTrigger(record);
      stores.audit.record({
        action: 'pipelines.triggers.create',
        target: { kind: 'pipeline_trigger', id: record.triggerId },
        projectId: record.projectId,
        details: {
          name: record.name,
          kind: record.kind,
          cron: record.cron,
          dataset: record.dataset,
          alias: record.alias,
        },
      });
    });
    return record;
  }

  async list(input: { project?: unknown }): Promise<PipelineTriggerRecord[]> {
    const readable = this.deps.access.readableProjects();
    let projectIds = readable === 'all' ? undefined : [...readable];
    if (typeof input.project === 'string' && input.project !== '') {
      projectIds = projectIds === undefined || projectIds.includes(input.project) ? [input.project] : [];
    }
    return this.deps.store.listTriggers(projectIds === undefined ? {} : { projectIds });
  }

  async get(input: { name: unknown; project?: unknown }): Promise<PipelineTriggerRecord> {
    return this.load(input, 'read', 'pipelines.triggers.get');
  }

  async setEnabled(input: {
    name: unknown;
    project?: unknown;
    enabled: unknown;
  }): Promise<PipelineTriggerRecord> {
    if (typeof input.enabled !== 'boolean') throw invalid('enabled must be true or false', 'enabled');
    const trigger = await this.load(input, 'write', 'pipelines.triggers.update');
    const now = this.deps.clock.now();
    // Resumed, a trigger fires for what comes next, not for what happened while it was paused: a
    // schedule at its next time from now, a dataset trigger on the version after the current one.
    const resuming = input.enabled && !trigger.enabled;
    const nextAt =
      trigger.kind === 'schedule' && resuming
        ? nextFireTime({ cron: trigger.cron as string, timezone: trigger.timezone, after: now })
        : trigger.nextAt;
    const lastSeen =
      trigger.kind === 'dataset' && resuming
        ? await this.current(trigger.dataset as string, trigger.alias, { allowEmpty: true })
        : trigger.lastSeen;
    await this.deps.transactor.run(async (stores) => {
      await stores.pipelines.updateTrigger(trigger.triggerId, {
        enabled: input.enabled as boolean,
        nextAt,
        lastSeen,
      });
      stores.audit.record({
        action: 'pipelines.triggers.update',
        target: { kind: 'pipeline_trigger', id: trigger.triggerId },
        projectId: trigger.projectId,
        details: { enabled: input.enabled },
      });
    });
    return { ...trigger, enabled: input.enabled, nextAt, lastSeen };
  }

  async delete(input: { name: unknown; project?: unknown }): Promise<void> {
    const trigger = await this.load(input, 'write', 'pipelines.triggers.delete');
    await this.deps.transactor.run(async (stores) => {
      await stores.pipelines.deleteTrigger(trigger.triggerId);
      stores.audit.record({
        action: 'pipelines.triggers.delete',
        target: { kind: 'pipeline_trigger', id: trigger.triggerId },
        projectId: trigger.projectId,
        details: { name: trigger.name },
      });
    });
  }

  /** Starts the trigger's pipeline now, as its schedule or dataset would (and monitoring alerts will). */
  async fire(input: { name: unknown; project?: unknown }): Promise<RunView> {
    const trigger = await this.load(input, 'write', 'pipelines.triggers.fire');
    return this.startFor(trigger, {
      trigger: { kind: 'schedule', triggerId: trigger.triggerId, at: this.deps.clock.now() },
    });
  }

  /** Fires every enabled trigger that is due. Returns the runs it started. */
  async tick(): Promise<string[]> {
    const started: string[] = [];
    const now = this.deps.clock.now();
    for (const trigger of await this.deps.store.listTriggers({})) {
      if (!trigger.enabled) continue;
      try {
        const run =
          trigger.kind === 'schedule'
            ? await this.tickSchedule(trigger, now)
            : await this.tickDataset(trigger);
        if (run !== undefined) started.push(run);
      } catch (error) {
        this.deps.onError(error, `pipeline trigger ${trigger.name} (${trigger.projectId}) failed to fire`);
      }
    }
    return started;
  }

  private async tickSchedule(trigger: PipelineTriggerRecord, now: number): Promise<string | undefined> {
    if (trigger.nextAt === null || trigger.nextAt > now) return undefined;
    // Times missed while no server ran are not made up: it fires once, then from now on.
    const next = nextFireTime({ cron: trigger.cron as string, timezone: trigger.timezone, after: now });
    if (
      !(await this.deps.store.updateTrigger(trigger.triggerId, { nextAt: next }, { nextAt: trigger.nextAt }))
    ) {
      return undefined;
    }
    const at = trigger.nextAt;
    return this.startOnce(trigger, {
      trigger: { kind: 'schedule', triggerId: trigger.triggerId, at },
      triggerKey: `schedule:${trigger.triggerId}:${at}`,
    });
  }

  private async tickDataset(trigger: PipelineTriggerRecord): Promise<string | undefined> {
    const dataset = trigger.dataset as string;
    const versionId = await this.asCreator(trigger, () =>
      this.current(dataset, trigger.alias, { allowEmpty: true }),
    );
    if (versionId === null || versionId === trigger.lastSeen) return undefined;
    if (
      !(await this.deps.store.updateTrigger(
        trigger.triggerId,
        { lastSeen: versionId },
        { lastSeen: trigger.lastSeen },
      ))
    ) {
      return undefined;
    }
    return this.startOnce(trigger, {
      trigger: { kind: 'dataset', triggerId: trigger.triggerId, dataset, versionId },
      // Keyed by pipeline and version, not trigger: two triggers of one pipeline on one dataset make one run.
      triggerKey: `dataset:${trigger.projectId}:${trigger.definitionDigest}:${versionId}`,
      pin: { dataset, ref: trigger.alias ?? 'latest', versionId },
    });
  }

  /** Starts the run; a run with the same trigger key already started (by another server or trigger) is fine. */
  private async startOnce(
    trigger: PipelineTriggerRecord,
    how: Parameters<PipelineRunsService['start']>[1],
  ): Promise<string | undefined> {
    try {
      return (await this.startFor(trigger, how)).run.pipelineRunId;
    } catch (error) {
      if (isCairnError(error) && error.code === 'ALREADY_EXISTS') return undefined;
      throw error;
    }
  }

  private startFor(
    trigger: PipelineTriggerRecord,
    how: Parameters<PipelineRunsService['start']>[1],
  ): Promise<RunView> {
    const definition = specAsDefinition(trigger.spec);
    return this.asCreator(trigger, () =>
      this.deps.runs.start(
        {
          definition,
          params: trigger.params,
          executor: trigger.executor,
          project: trigger.projectId,
          codeDigest: trigger.codeDigest,
        },
        how,
      ),
    );
  }

  private async current(
    dataset: string,
    alias: string | null,
    options: { allowEmpty: boolean },
  ): Promise<string | null> {
    try {
      return (await this.deps.datasets.resolve(dataset, alias ?? 'latest')).versionId;
    } catch (error) {
      // A dataset with no versions yet (or an alias not set yet) has nothing to fire for.
      if (
        options.allowEmpty &&
        isCairnError(error) &&
        error.code === 'NOT_FOUND' &&
        /no versions|no alias/.test(error.message)
      ) {
        return null;
      }
      throw error;
    }
  }

  private async load(
    input: { name: unknown; project?: unknown },
    permission: 'read' | 'write',
    action: string,
  ): Promise<PipelineTriggerRecord> {
    const project = typeof input.project === 'string' && input.project !== '' ? input.project : 'default';
    if (typeof input.name !== 'string' || !PIPELINE_TITLE_PATTERN.test(input.name)) {
      throw invalid('name must name a trigger', 'name');
    }
    const trigger = await this.deps.store.getTriggerByName(project, input.name);
    if (trigger === undefined) {
      throw new CairnError('NOT_FOUND', `No pipeline trigger ${input.name} in project ${project}.`);
    }
    this.deps.access.require(permission, project, {
      action,
      target: { kind: 'pipeline_trigger', id: trigger.triggerId },
    });
    return trigger;
  }

  private asCreator<T>(trigger: PipelineTriggerRecord, work: () => Promise<T>): Promise<T> {
    return runAsCaller({ ...SYSTEM_CALLER, actor: trigger.createdBy }, work);
  }
}
