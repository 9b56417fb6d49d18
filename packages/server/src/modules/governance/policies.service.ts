import { CairnError, POLICY_LIMITS } from '@cairn/contract';
import type { Clock } from '../../kernel/clock.js';
import type { Transactor } from '../../kernel/transactor.js';
import type { AccessControl } from './access-control.js';
import { canonicalJson } from './audit-event.js';
import type { AuditStores } from './audit-recorder.js';
import type { PolicyVersionRecord } from './entities.js';
import type { IdentityStore, PolicyStore } from './governance.store.js';
import { checkProjectId } from './identity-names.js';
import {
  GOVERNED_DEFAULT_POLICY,
  LOCAL_DEFAULT_POLICY,
  parsePolicyDocument,
  parsePolicySource,
  policyJson,
  protects,
  sniffPolicyFormat,
  type Policy,
  type PolicyFormat,
} from './policy-document.js';
import type { LabelTarget, ProtectedTargets } from './protected-targets.js';

export type PolicyTransactionStores = { policies: PolicyStore; identity: IdentityStore } & AuditStores;

export interface PoliciesContext {
  /** For reads outside a transaction. */
  policies: PolicyStore;
  identity: IdentityStore;
  transactor: Transactor<PolicyTransactionStores>;
  access: AccessControl;
  clock: Clock;
}

/** The policy a project is governed by now: its latest stored version, or the mode's default. */
export interface EffectivePolicy {
  readonly projectId: string;
  /** null: nothing stored, the default applies. */
  readonly version: number | null;
  readonly isDefault: boolean;
  readonly policy: Policy;
  readonly source: string;
  readonly sourceFormat: PolicyFormat;
  readonly comment: string;
  readonly createdAt: number | null;
  readonly createdBy: string | null;
}

export interface SetPolicyInput {
  projectId: unknown;
  /** The policy as a value (a JSON body); give this or `source`. */
  document?: unknown;
  /** The policy as text, kept as written. */
  source?: unknown;
  /** Of `source`; sniffed when absent. */
  format?: unknown;
  comment?: unknown;
}

const projectTarget = (id: string) => ({ kind: 'project', id });
/** Parsed policies by stored text: the registry asks about every label move, the text rarely changes. */
const CACHE_LIMIT = 500;

/**
 * Project policies: declarative, versioned, stored in Cairn. Setting one needs
 * `admin` in the project, reading one `read`. Also answers the registry's
 * "is this label protected?" for every move, with no permission check: the
 * answer is the same whoever asks.
 */
export class PoliciesService implements ProtectedTargets {
  private readonly parsed = new Map<string, Policy>();
  /** A label move asks about every stage and alias at once: one read answers them all. */
  private readonly reading = new Map<string, Promise<PolicyVersionRecord | undefined>>();

  constructor(private readonly ctx: PoliciesContext) {}

  async isProtected(projectId: string, target: LabelTarget): Promise<boolean> {
    return protects((await this.effective(projectId)).policy, target);
  }

  /** For other modules deciding for themselves who may see it (promotions freeze it into requests). */
  async effective(projectId: string): Promise<EffectivePolicy> {
    const stored = await this.latest(projectId);
    if (stored !== undefined) return this.view(stored);
    return {
      projectId,
      version: null,
      isDefault: true,
      policy: this.ctx.access.authEnabled ? GOVERNED_DEFAULT_POLICY : LOCAL_DEFAULT_POLICY,
      source: '',
      sourceFormat: 'json',
      comment: this.ctx.access.authEnabled
        ? 'default with authentication on: champion and Production are protected'
        : 'default in local mode (authentication off): nothing is protected',
      createdAt: null,
      createdBy: null,
    };
  }

  async get(rawProjectId: unknown): Promise<EffectivePolicy> {
    const projectId = await this.readable(rawProjectId, 'policies.get');
    return this.effective(projectId);
  }

  /** Every stored version, newest first. */
  async history(rawProjectId: unknown): Promise<EffectivePolicy[]> {
    const projectId = await this.readable(rawProjectId, 'policies.history');
    return (await this.ctx.policies.listPolicies(projectId)).map((record) => this.view(record));
  }

  async set(input: SetPolicyInput): Promise<EffectivePolicy> {
    const { access, clock, transactor } = this.ctx;
    const projectId = checkProjectId(input.projectId, 'project');
    access.require('admin', projectId, { action: 'policies.set', target: projectTarget(projectId) });
    const { policy, source, sourceFormat } = parseInput(input);
    const comment = checkComment(input.comment);
    const document = canonicalJson(policyJson(policy));
    const createdAt = clock.now();
    const createdBy = access.caller().actor;
    return transactor.run(async ({ policies, identity, audit }) => {
      if ((await identity.getProject(projectId)) === undefined) throw projectNotFound(projectId);
      const version = ((await policies.latestPolicy(projectId))?.version ?? 0) + 1;
      const record: PolicyVersionRecord = {
        projectId,
        version,
        document,
        source,
        sourceFormat,
        comment,
        createdAt,
        createdBy,
      };
      await policies.insertPolicy(record);
      audit.record({
        action: 'policies.set',
        target: projectTarget(projectId),
        projectId,
        details: { version, comment, policy: policyJson(policy) },
      });
      return this.view(record);
    });
  }

  /** Parses a policy frozen into a promotion request (stored by `policyJson`, so it always parses). */
  parseStored(document: string): Policy {
    const cached = this.parsed.get(document);
    if (cached !== undefined) return cached;
    const policy = parsePolicyDocument(JSON.parse(document));
    if (this.parsed.size >= CACHE_LIMIT) this.parsed.clear();
    this.parsed.set(document, policy);
    return policy;
  }

  private latest(projectId: string): Promise<PolicyVersionRecord | undefined> {
    const pending = this.reading.get(projectId);
    if (pending !== undefined) return pending;
    const read = this.ctx.policies.latestPolicy(projectId).finally(() => this.reading.delete(projectId));
    this.reading.set(projectId, read);
    return read;
  }

  private view(record: PolicyVersionRecord): EffectivePolicy {
    return {
      projectId: record.projectId,
      version: record.version,
      isDefault: false,
      policy: this.parseStored(record.document),
      source: record.source,
      sourceFormat: record.sourceFormat,
      comment: record.comment,
      createdAt: record.createdAt,
      createdBy: record.createdBy,
    };
  }

  /** Permission first: a project the caller may not read looks the same whether it exists or not. */
  private async readable(rawProjectId: unknown, action: string): Promise<string> {
    const projectId = checkProjectId(rawProjectId, 'project');
    this.ctx.access.require('read', projectId, { action, target: projectTarget(projectId) });
    if ((await this.ctx.identity.getProject(projectId)) === undefined) throw projectNotFound(projectId);
    return projectId;
  }
}

function parseInput(input: SetPolicyInput): { policy: Policy; source: string; sourceFormat: PolicyFormat } {
  const hasDocument = input.document !== undefined && input.document !== null;
  const hasSource = input.source !== undefined && input.source !== null;
  if (hasDocument === hasSource) {
    throw new CairnError(
      'INVALID_ARGUMENT',
      'give the policy either as `document` (a JSON object) or as `source` (YAML or JSON text), not both or neither.',
      { field: hasDocument ? 'source' : 'document' },
    );
  }
  if (hasDocument) {
    const policy = parsePolicyDocument(input.document);
    const source = JSON.stringify(input.document, null, 2);
    if (Buffer.byteLength(source, 'utf8') > POLICY_LIMITS.maxSourceBytes) {
      throw new CairnError('INVALID_ARGUMENT', `policy: larger than ${POLICY_LIMITS.maxSourceBytes} bytes`, {
        field: 'document',
      });
    }
    return { policy, source, sourceFormat: 'json' };
  }
  // Without NUL: the text is stored as written, and PostgreSQL text cannot hold it.
  if (typeof input.source !== 'string' || input.source.includes('\u0000')) {
    throw new CairnError('INVALID_ARGUMENT', 'source: expected the policy as text, without NUL', {
      field: 'source',
    });
  }
  const sourceFormat = checkFormat(input.format) ?? sniffPolicyFormat(input.source);
  return { policy: parsePolicySource(input.source, sourceFormat), source: input.source, sourceFormat };
}

function checkFormat(format: unknown): PolicyFormat | undefined {
  if (format === undefined || format === null) return undefined;
  if (format === 'json' || format === 'yaml') return format;
  throw new CairnError('INVALID_ARGUMENT', `format: expected json or yaml, got ${JSON.stringify(format)}`, {
    field: 'format',
  });
}

function checkComment(comment: unknown): string {
  if (comment === undefined || comment === null) return '';
  if (
    typeof comment !== 'string' ||
    comment.length > POLICY_LIMITS.maxCommentLength ||
    comment.includes('\u0000')
  ) {
    throw new CairnError(
      'INVALID_ARGUMENT',
      `comment: expected text of at most ${POLICY_LIMITS.maxCommentLength} characters, without NUL`,
      { field: 'comment' },
    );
  }
  return comment;
}

function projectNotFound(projectId: string): CairnError {
  return new CairnError(
    'NOT_FOUND',
    `Project '${projectId}' does not exist (cairn projects ls lists yours).`,
    {
      field: 'project',
    },
  );
}
