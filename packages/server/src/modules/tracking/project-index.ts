import { CairnError } from '@cairn/contract';
import type { TrackingStore } from './tracking.store.js';

/** A Map that forgets its least recently used entry past `capacity`. */
export class LruMap<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(private readonly capacity: number) {}

  get(key: K): V | undefined {
    const value = this.entries.get(key);
    if (value === undefined) return undefined;
    // Re-inserting moves the key to the end: Map iteration order is insertion order.
    this.entries.delete(key);
    this.entries.set(key, value);
    return value;
  }

  set(key: K, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
  }

  get size(): number {
    return this.entries.size;
  }
}

/**
 * Which project an experiment or run belongs to, for permission checks.
 * Experiments never move between projects and runs never move between
 * experiments, so an answer never goes stale and every replica may keep its
 * own copy: a `log-batch` on a known run costs no query for its project.
 */
export class ProjectIndex {
  private readonly experiments: LruMap<string, string>;
  private readonly runs: LruMap<string, string>;

  constructor(
    private readonly store: TrackingStore,
    capacity = 100_000,
  ) {
    this.experiments = new LruMap(capacity);
    this.runs = new LruMap(capacity);
  }

  /** The project of a run whose experiment is known (from its info row). */
  async ofRun(run: { runId: string; experimentId: string }): Promise<string> {
    const cached = this.runs.get(run.runId);
    if (cached !== undefined) return cached;
    const projectId = await this.ofExperiment(run.experimentId);
    this.runs.set(run.runId, projectId);
    return projectId;
  }

  async ofExperiment(experimentId: string): Promise<string> {
    const projects = await this.ofExperiments([experimentId]);
    const projectId = projects.get(experimentId);
    if (projectId !== undefined) return projectId;
    throw new CairnError('NOT_FOUND', `No Experiment with id=${experimentId} exists`, {
      field: 'experiment_id',
    });
  }

  /** Projects of many experiments, one query for the ones not yet known; unknown ids are left out. */
  async ofExperiments(experimentIds: readonly string[]): Promise<Map<string, string>> {
    const result = new Map<string, string>();
    const missing: string[] = [];
    for (const id of new Set(experimentIds)) {
      const cached = this.experiments.get(id);
      if (cached === undefined) missing.push(id);
      else result.set(id, cached);
    }
    if (missing.length === 0) return result;
    for (const [id, projectId] of await this.store.getExperimentProjects(missing)) {
      this.experiments.set(id, projectId);
      result.set(id, projectId);
    }
    return result;
  }

  /** Called when an experiment is created, so its first runs need no lookup. */
  remember(experimentId: string, projectId: string): void {
    this.experiments.set(experimentId, projectId);
  }
}
