import { Type, type Static } from '@sinclair/typebox';

/**
 * The audit trail as the native API (/api/v1/audit) sends it: events, the
 * result of verifying the hash chain, signed checkpoints and retention.
 * `docs/audit.md` defines the hash so anyone can check a chain themselves.
 */
export const AUDIT_LIMITS = {
  /** Events in one page of a query. */
  maxEvents: 1000,
  defaultEvents: 100,
} as const;

export const AUDIT_OUTCOMES = ['ok', 'denied'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

/** See `docs/audit.md`: what each kind of problem means. */
export const AUDIT_PROBLEM_KINDS = ['modified', 'deleted', 'inserted', 'reordered', 'signature'] as const;
export type AuditProblemKind = (typeof AUDIT_PROBLEM_KINDS)[number];

/** The media type of `GET /api/v1/audit/export`. */
export const AUDIT_EXPORT_MEDIA_TYPE = 'application/x-ndjson';

const strict = { additionalProperties: false } as const;
const Time = Type.Integer({ description: 'Epoch milliseconds.' });
const Hash = Type.String({ description: 'sha256, 64 lower-case hex digits.' });
const Seq = Type.Integer({ minimum: 0 });

export const AuditOutcome = Type.Union(
  AUDIT_OUTCOMES.map((o) => Type.Literal(o)),
  { description: '`denied`: the attempt was refused and changed nothing.' },
);

export const AuditEvent = Type.Object({
  seq: Seq,
  time: Time,
  actor: Type.String({ description: 'User name; `local` with auth off, `system` for the server itself.' }),
  action: Type.String({ description: '`<noun>.<verb>`, e.g. `runs.log_batch`, `models.alias_set`.' }),
  outcome: Type.String({ description: '`ok` or `denied` (as stored, so a tampered value shows as it is).' }),
  target: Type.Object({ kind: Type.String(), id: Type.String() }),
  projectId: Type.Union([Type.String(), Type.Null()]),
  requestId: Type.Union([Type.String(), Type.Null()]),
  details: Type.Unknown({
    description: 'The changed fields (never secrets), parsed; the stored text itself if it is not JSON.',
  }),
  prevHash: Hash,
  hash: Hash,
});
export type AuditEvent = Static<typeof AuditEvent>;

export const AuditEventList = Type.Object({
  events: Type.Array(AuditEvent),
  nextPageToken: Type.Optional(Type.String({ description: 'Pass back as `pageToken` for the next page.' })),
});
export type AuditEventList = Static<typeof AuditEventList>;

export const AuditEventsQuery = Type.Object(
  {
    target: Type.Optional(
      Type.String({ description: '`kind` or `kind:id`, e.g. `run:4f1c…` or `model`.', maxLength: 512 }),
    ),
    actor: Type.Optional(Type.String({ maxLength: 256 })),
    action: Type.Optional(
      Type.String({
        description: 'An exact action (`models.alias_set`) or a prefix ending in `.` (`models.`).',
        maxLength: 256,
      }),
    ),
    outcome: Type.Optional(AuditOutcome),
    projectId: Type.Optional(Type.String({ maxLength: 256 })),
    since: Type.Optional(
      Type.String({ description: 'From this moment on: epoch ms or an ISO date such as `2026-03-03`.' }),
    ),
    until: Type.Optional(Type.String({ description: 'Before this moment: epoch ms or an ISO date.' })),
    order: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')], { default: 'desc' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: AUDIT_LIMITS.maxEvents })),
    pageToken: Type.Optional(Type.String({ maxLength: 256 })),
  },
  strict,
);
export type AuditEventsQuery = Static<typeof AuditEventsQuery>;

export const AuditProblem = Type.Object({
  seq: Type.Integer({ description: 'The first event that is not as recorded.' }),
  kind: Type.Union(AUDIT_PROBLEM_KINDS.map((k) => Type.Literal(k))),
  message: Type.String(),
});
export type AuditProblem = Static<typeof AuditProblem>;

export const AuditVerifyResult = Type.Object({
  ok: Type.Boolean(),
  events: Type.Integer({ description: 'Events checked and found on the chain.' }),
  firstSeq: Seq,
  lastSeq: Seq,
  lastHash: Hash,
  checkpoints: Type.Integer({
    description:
      'Signed checkpoints matched against their event (and their signature, where the key is known).',
  }),
  problem: Type.Optional(AuditProblem),
});
export type AuditVerifyResult = Static<typeof AuditVerifyResult>;

export const AuditCheckpoint = Type.Object({
  seq: Seq,
  hash: Hash,
  time: Time,
  keyId: Type.String({ description: 'First 16 hex digits of sha256 over the raw Ed25519 public key.' }),
  signature: Type.String({
    description: 'base64 Ed25519 signature over the canonical JSON of `{hash, keyId, seq, time}`.',
  }),
  publicKey: Type.String({ description: 'The signing key, SPKI PEM.' }),
});
export type AuditCheckpoint = Static<typeof AuditCheckpoint>;

export const AuditPublicKey = Type.Object({
  algorithm: Type.Literal('Ed25519'),
  keyId: Type.String(),
  publicKey: Type.String({ description: 'SPKI PEM.' }),
});
export type AuditPublicKey = Static<typeof AuditPublicKey>;

export const AuditExportQuery = Type.Object(
  { fromSeq: Type.Optional(Type.Integer({ minimum: 1, description: 'First event to include.' })) },
  strict,
);
export type AuditExportQuery = Static<typeof AuditExportQuery>;

export const AuditPruneRequest = Type.Object(
  {
    olderThanDays: Type.Number({
      minimum: 0,
      description: 'Delete events older than this; refused below the configured minimum retention.',
    }),
  },
  strict,
);
export type AuditPruneRequest = Static<typeof AuditPruneRequest>;

export const AuditPruneResult = Type.Object({
  deleted: Type.Integer(),
  before: Time,
  firstSeq: Type.Integer({ description: 'The first event kept.' }),
  anchorHash: Type.String({ description: 'The hash the first kept event chains from.' }),
});
export type AuditPruneResult = Static<typeof AuditPruneResult>;

/** The last line of an export. */
export interface AuditExportTrailer {
  checkpoint: AuditCheckpoint;
}
