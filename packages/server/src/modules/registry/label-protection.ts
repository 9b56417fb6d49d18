import { CairnError } from '@cairn/contract';
import {
  deniedError,
  type AccessControl,
  type LabelTarget,
  type ProtectedTargets,
} from '../governance/index.js';
import { STAGES, type ModelVersionRecord, type RegisteredModelRecord, type Stage } from './entities.js';
import { modelTarget, versionTarget } from './registry-context.js';

const describe = (target: LabelTarget): string =>
  `${target.kind === 'alias' ? 'Alias' : 'Stage'} '${target.name}'`;

const requestCommand = (model: string, version: number | string, target: LabelTarget): string =>
  `cairn promotions request ${model}/${version} --${target.kind} ${target.name}`;

/**
 * Which of a model's labels its project's policy protects, asked before the
 * transaction opens (the policy lives in another store, and in SQLite mode a
 * transaction holds the only connection). Every stage is asked, so a change
 * re-checked inside the transaction against fresh rows needs no new question.
 */
export class LabelProtection {
  private constructor(
    readonly projectId: string,
    private readonly answers: ReadonlyMap<string, boolean>,
  ) {}

  static async of(
    targets: ProtectedTargets,
    projectId: string,
    aliases: Iterable<string> = [],
  ): Promise<LabelProtection> {
    const asked: LabelTarget[] = [
      ...STAGES.map((name) => ({ kind: 'stage' as const, name })),
      ...[...new Set(aliases)].map((name) => ({ kind: 'alias' as const, name })),
    ];
    const answers = await Promise.all(asked.map((t) => targets.isProtected(projectId, t)));
    return new LabelProtection(projectId, new Map(asked.map((t, i) => [key(t), answers[i] === true])));
  }

  protects(target: LabelTarget): boolean {
    const answer = this.answers.get(key(target));
    if (answer !== undefined) return answer;
    // An alias that appeared between the question and the transaction: refuse rather than guess.
    throw new CairnError(
      'FAILED_PRECONDITION',
      `${describe(target)} appeared while this change was being checked; try again.`,
    );
  }

  /** A direct move onto a protected label is refused for everyone, admins included. */
  refuseProtectedMove(request: {
    model: RegisteredModelRecord;
    version: number;
    target: LabelTarget;
    action: string;
  }): void {
    const { model, version, target, action } = request;
    if (!this.protects(target)) return;
    throw deniedError(
      `${describe(target)} of model '${model.name}' is protected by project '${model.projectId}'s policy: ` +
        `open a promotion request (${requestCommand(model.name, version, target)})`,
      {
        action,
        target: target.kind === 'alias' ? modelTarget(model.name) : versionTarget(model.name, version),
        projectId: model.projectId,
        outcome: 'denied',
        details: { protected: { kind: target.kind, name: target.name }, version },
      },
    );
  }

  /** Taking a version off a protected label (delete, archive) is for project admins only. */
  requireAdminToRemove(
    access: AccessControl,
    request: { model: RegisteredModelRecord; version: number; labels: LabelTarget[]; action: string },
  ): void {
    const { model, version, action } = request;
    const label = request.labels.find((l) => this.protects(l));
    if (label === undefined || access.can('admin', model.projectId)) return;
    throw deniedError(
      `${describe(label)} of model '${model.name}' is protected by project '${model.projectId}'s policy: ` +
        `only a project admin may take version ${version} off it; to point it at another version, ` +
        `open a promotion request for that one (${requestCommand(model.name, '<version>', label)})`,
      {
        action,
        target: versionTarget(model.name, version),
        projectId: model.projectId,
        outcome: 'denied',
        details: { protected: { kind: label.kind, name: label.name }, needed: 'admin' },
      },
    );
  }
}

/** The labels a version holds: its aliases and its stage (None is no label). */
export function labelsOf(record: Pick<ModelVersionRecord, 'aliases' | 'stage'>): LabelTarget[] {
  return [
    ...record.aliases.map((name) => ({ kind: 'alias' as const, name })),
    ...(record.stage === 'None' ? [] : [{ kind: 'stage' as const, name: record.stage }]),
  ];
}

export const stageLabel = (name: Stage): LabelTarget => ({ kind: 'stage', name });

function key(target: LabelTarget): string {
  return `${target.kind}:${target.name}`;
}
