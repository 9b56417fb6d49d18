import { CairnError, RUN_TAGS } from '@cairn/contract';
import type { AccessControl, Permission } from '../governance/index.js';
import type { RunInfoRecord } from './entities.js';
import type { ProjectIndex } from './project-index.js';
import { runTarget } from './run-audit.js';
import { invalid } from './search-options.js';
import type { TrackingStore } from './tracking.store.js';
import { checkId } from './validation.js';

export interface RunAccessDeps {
  store: TrackingStore;
  access: AccessControl;
  projects: ProjectIndex;
}

/** A run the caller may read or change, with the project it was checked in. */
export interface CheckedRun {
  info: RunInfoRecord;
  projectId: string;
}

/** A run id in an artifact path: `…/<run id>/artifacts[/…]`. */
const RUN_IN_PATH = /(?:^|\/)([0-9a-f]{32})\/artifacts(?:\/|$)/;

/**
 * Finding runs and checking the caller's permission in their project. Every
 * run use case goes through here, so none can forget the check.
 */
export class RunAccess {
  constructor(private readonly deps: RunAccessDeps) {}

  /** The run, unchecked: for use cases that check their own permission next. */
  async load(rawId: unknown): Promise<RunInfoRecord> {
    const runId = checkId(rawId, 'run_id');
    const info = await this.deps.store.getRunInfo(runId);
    if (info === undefined) throw runNotFound(runId);
    return info;
  }

  /** Throws PERMISSION_DENIED unless the caller may `permission` in the run's project; returns the project. */
  async authorize(info: RunInfoRecord, permission: Permission, action: string): Promise<string> {
    const projectId = await this.deps.projects.ofRun(info);
    this.deps.access.require(permission, projectId, { action, target: runTarget(info.runId) });
    return projectId;
  }

  async checked(rawId: unknown, attempt: { permission: Permission; action: string }): Promise<CheckedRun> {
    const info = await this.load(rawId);
    const projectId = await this.authorize(info, attempt.permission, attempt.action);
    return { info, projectId };
  }

  /** An active run the caller may change; `action` names the change for a refusal. */
  async writable(rawId: unknown, action: string): Promise<CheckedRun> {
    const checked = await this.checked(rawId, { permission: 'write', action });
    assertActiveRun(checked.info);
    return checked;
  }

  /**
   * With auth on, a run belongs to whoever authenticated (as with MLflow's
   * auth), whatever the client claims in `user_id` or the `mlflow.user` tag,
   * which is rewritten to match.
   */
  runUser(claimed: string | undefined, tags: Array<{ key: string; value: string }>): string {
    const userTag = tags.findIndex((t) => t.key === RUN_TAGS.user);
    if (!this.deps.access.authEnabled) {
      return claimed ?? (userTag === -1 ? undefined : tags[userTag]?.value) ?? 'unknown';
    }
    const actor = this.deps.access.caller().actor;
    if (userTag !== -1) tags[userTag] = { key: RUN_TAGS.user, value: actor };
    return actor;
  }

  /**
   * The project owning an artifact path inside a run's artifact root, or
   * undefined when the path is not inside one. The run named in the path must
   * really keep its artifacts there: `1/<run of experiment 2>/artifacts` is no
   * run's folder, so naming a run one may write cannot open another tree.
   */
  async projectOfArtifactPath(path: string): Promise<string | undefined> {
    const runId = RUN_IN_PATH.exec(path)?.[1];
    if (runId === undefined) return undefined;
    const info = await this.deps.store.getRunInfo(runId);
    if (info === undefined) return undefined;
    const root = artifactRootIn(info);
    if (root === undefined || (path !== root && !path.startsWith(`${root}/`))) return undefined;
    return this.deps.projects.ofRun(info);
  }
}

export function assertActiveRun(info: RunInfoRecord): void {
  if (info.lifecycleStage !== 'active') {
    throw invalid(
      `The run ${info.runId} must be in the 'active' state. Current state is ${info.lifecycleStage}.`,
      'run_id',
    );
  }
}

const ARTIFACT_STORE_PREFIX = 'mlflow-artifacts:/';

/** The run's artifact root inside this server's artifact store; undefined when it lives elsewhere. */
export function artifactRootIn(info: RunInfoRecord): string | undefined {
  if (!info.artifactUri.startsWith(ARTIFACT_STORE_PREFIX)) return undefined;
  return info.artifactUri.slice(ARTIFACT_STORE_PREFIX.length).replace(/^\/+/, '');
}

export function runNotFound(runId: string): CairnError {
  return new CairnError('NOT_FOUND', `Run with id=${runId} not found`, { field: 'run_id' });
}
