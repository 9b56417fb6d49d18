import { Readable } from 'node:stream';
import { CairnError, CODE_VERSION_LIMITS, RUN_TAGS } from '@cairn/contract';
import type { Clock } from '../../kernel/clock.js';
import type { Transactor } from '../../kernel/transactor.js';
import type { BlobStore, Digest } from '../artifacts/index.js';
import type { AccessControl, AuditStores } from '../governance/index.js';
import type { RunCodeVersion } from './entities.js';
import type { ExperimentService } from './experiments.service.js';
import { RunAccess } from './run-access.js';
import { runTarget } from './run-audit.js';
import { replaceRunTagEdges, type RunChangeStores } from './run-lineage.js';
import type { TrackingStore } from './tracking.store.js';

export interface CodeVersionServiceDeps {
  /** For the project index runs are checked in. */
  experiments: ExperimentService;
  store: TrackingStore;
  blobs: BlobStore;
  transactor: Transactor<RunChangeStores & AuditStores>;
  access: AccessControl;
  clock: Clock;
}

export interface CodeVersionInput {
  commit: unknown;
  branch?: unknown;
  remoteUrl?: unknown;
  dirty: unknown;
  /** The uncommitted changes as a `git apply --binary`-able patch. */
  diff?: Uint8Array | undefined;
}

export interface CodeDiff {
  digest: Digest;
  sizeBytes: number;
  /** Verified against the digest while read. */
  stream: Readable;
}

/** The tags MLflow clients read a run's source from; set alongside the record. */
export const GIT_TAGS = {
  commit: RUN_TAGS.gitCommit,
  branch: 'mlflow.source.git.branch',
  repoUrl: 'mlflow.source.git.repoURL',
} as const;

const COMMIT = /^[0-9a-fA-F]{7,64}$/;

const invalid = (message: string, field: string): CairnError =>
  new CairnError('INVALID_ARGUMENT', message, { field });

/**
 * The source a run ran from: commit, branch, remote and the uncommitted diff
 * (a blob), enough for `cairn runs code` to rebuild the working tree.
 */
export class CodeVersionService {
  private readonly runs: RunAccess;

  constructor(private readonly deps: CodeVersionServiceDeps) {
    this.runs = new RunAccess({
      store: deps.store,
      access: deps.access,
      projects: deps.experiments.projects,
    });
  }

  async setCodeVersion(rawRunId: unknown, input: CodeVersionInput): Promise<RunCodeVersion> {
    const commit = checkCommit(input.commit);
    const branch = checkRef(input.branch, 'branch');
    const remote = checkRef(input.remoteUrl, 'remoteUrl');
    const remoteUrl = remote === null ? null : withoutCredentials(remote);
    if (typeof input.dirty !== 'boolean') throw invalid('dirty must be true or false.', 'dirty');
    const diff = input.diff !== undefined && input.diff.byteLength > 0 ? input.diff : undefined;
    if (diff !== undefined && diff.byteLength > CODE_VERSION_LIMITS.maxDiffBytes) {
      throw new CairnError(
        'PAYLOAD_TOO_LARGE',
        `The diff is ${diff.byteLength} bytes; at most ${CODE_VERSION_LIMITS.maxDiffBytes} are kept.`,
        { field: 'diff' },
      );
    }
    const { info, projectId } = await this.runs.writable(rawRunId, 'runs.code_version_set');
    // Content-addressed: a blob left behind by a failed transaction is harmless.
    const stored = diff === undefined ? undefined : await this.deps.blobs.put(Readable.from([diff]));
    const now = this.deps.clock.now();
    const version: RunCodeVersion = {
      runId: info.runId,
      commit,
      branch,
      remoteUrl,
      dirty: input.dirty,
      diffDigest: stored?.digest ?? null,
      diffBytes: stored?.sizeBytes ?? 0,
      createdAt: now,
    };
    await this.deps.transactor.run(async (stores) => {
      await stores.tracking.setCodeVersion(version);
      await this.writeTags(stores, version);
      stores.audit.record({
        action: 'runs.code_version_set',
        target: runTarget(info.runId),
        projectId,
        details: {
          commit,
          branch,
          remoteUrl,
          dirty: version.dirty,
          diffDigest: version.diffDigest,
          diffBytes: version.diffBytes,
        },
      });
    });
    return version;
  }

  async getCodeVersion(rawRunId: unknown): Promise<RunCodeVersion> {
    const { info } = await this.runs.checked(rawRunId, {
      permission: 'read',
      action: 'runs.code_version_get',
    });
    const version = await this.deps.store.getCodeVersion(info.runId);
    if (version === undefined) {
      throw new CairnError('NOT_FOUND', `Run ${info.runId} has no recorded code version.`, {
        field: 'run_id',
      });
    }
    return version;
  }

  /** The recorded diff; NOT_FOUND when the run ran from a clean tree. */
  async openDiff(rawRunId: unknown): Promise<CodeDiff> {
    const version = await this.getCodeVersion(rawRunId);
    if (version.diffDigest === null) {
      throw new CairnError(
        'NOT_FOUND',
        `Run ${version.runId} has no recorded diff: it ran from a clean checkout of ${version.commit}.`,
        { field: 'run_id' },
      );
    }
    const stream = await this.deps.blobs.get(version.diffDigest);
    return { digest: version.diffDigest, sizeBytes: version.diffBytes, stream };
  }

  /** MLflow's git tags, so MLflow clients and the lineage graph see the same commit. */
  private async writeTags(stores: RunChangeStores, version: RunCodeVersion): Promise<void> {
    const tags = [
      { key: GIT_TAGS.commit, value: version.commit },
      ...(version.branch === null ? [] : [{ key: GIT_TAGS.branch, value: version.branch }]),
      ...(version.remoteUrl === null ? [] : [{ key: GIT_TAGS.repoUrl, value: version.remoteUrl }]),
    ];
    const at = this.deps.clock.now();
    await replaceRunTagEdges(stores, { runId: version.runId, tags, at });
    await stores.tracking.writeBatch(version.runId, { metrics: [], params: [], tags });
    // A re-recorded source without a branch or remote must not keep the old one's tags.
    if (version.branch === null) await stores.tracking.deleteTag(version.runId, GIT_TAGS.branch);
    if (version.remoteUrl === null) await stores.tracking.deleteTag(version.runId, GIT_TAGS.repoUrl);
  }
}

function checkCommit(raw: unknown): string {
  if (typeof raw !== 'string' || !COMMIT.test(raw)) {
    throw invalid('commit must be a git commit id: 7 to 64 hexadecimal digits.', 'commit');
  }
  return raw.toLowerCase();
}

function checkRef(raw: unknown, field: string): string | null {
  if (raw === undefined || raw === null || raw === '') return null;
  if (typeof raw !== 'string') throw invalid(`${field} must be a string.`, field);
  if (raw.length > CODE_VERSION_LIMITS.maxRefLength) {
    throw invalid(
      `${field} is ${raw.length} characters long; the limit is ${CODE_VERSION_LIMITS.maxRefLength}.`,
      field,
    );
  }
  if ([...raw].some((c) => c.charCodeAt(0) < 0x20))
    throw invalid(`${field} must not contain control characters.`, field);
  return raw;
}

/**
 * `https://user:token@host/repo` keeps a secret in the URL; runs are read by
 * many, so credentials never get stored. Over ssh the user is part of the
 * address (`ssh://git@host/…`) and only a password is dropped.
 */
export function withoutCredentials(remote: string): string {
  let url: URL;
  try {
    url = new URL(remote);
  } catch {
    return remote; // scp-like `git@host:org/repo.git` or a local path: no credentials to strip
  }
  if (url.password === '' && (url.username === '' || !/^https?:$/.test(url.protocol))) return remote;
  url.password = '';
  if (/^https?:$/.test(url.protocol)) url.username = '';
  return url.toString();
}
