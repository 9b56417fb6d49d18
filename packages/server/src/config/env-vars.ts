/**
 * Every CAIRN_* variable, declared once. `cairn server --help` prints this
 * table, and docs/config.md mirrors it.
 */
export interface EnvVarSpec {
  readonly name: string;
  readonly flag?: string;
  readonly description: string;
  readonly default: string;
}

export const ENV_VARS = {
  host: {
    name: 'CAIRN_HOST',
    flag: '--host',
    description: 'Address to bind. Anything but a loopback address needs --auth.',
    default: '127.0.0.1',
  },
  auth: {
    name: 'CAIRN_AUTH',
    flag: '--auth',
    description:
      'Require a bearer token on every route but health, with roles per project. The first admin comes from CAIRN_ADMIN_TOKEN or `cairn admin bootstrap`.',
    default: 'false',
  },
  adminToken: {
    name: 'CAIRN_ADMIN_TOKEN',
    description:
      "With auth on and no users yet: becomes the first admin's token (at least 32 characters). Ignored once an admin exists.",
    default: '(none)',
  },
  auditRetentionDays: {
    name: 'CAIRN_AUDIT_RETENTION_DAYS',
    description:
      'Delete audit events older than this many days (never below the minimum). Empty keeps them forever.',
    default: '(keep forever)',
  },
  auditMinRetentionDays: {
    name: 'CAIRN_AUDIT_MIN_RETENTION_DAYS',
    description:
      'Audit events younger than this are never deleted, whatever asks. 180 days is the EU AI Act floor for logs of high-risk systems.',
    default: '180',
  },
  auditCheckpointMinutes: {
    name: 'CAIRN_AUDIT_CHECKPOINT_MINUTES',
    description:
      'Minutes between the signed audit checkpoints the server makes itself (the first a minute after start). 0 turns them off; `cairn audit checkpoint` still makes one.',
    default: '60',
  },
  auditKeyFile: {
    name: 'CAIRN_AUDIT_KEY_FILE',
    description:
      'Ed25519 private key (PEM) that signs audit checkpoints; created on first start when missing. Share it between replicas.',
    default: '<data-dir>/audit-signing-key.pem',
  },
  pipelineSlots: {
    name: 'CAIRN_PIPELINE_SLOTS',
    description:
      'Pipeline steps the local executor runs at once (a step hinting resources.cpu: 2 takes two). Default: the number of cores.',
    default: '(cores)',
  },
  queueUrl: {
    name: 'CAIRN_QUEUE_URL',
    description:
      'redis://host:port of the job queue for `--executor queue` (BullMQ). Steps then run on `cairn worker` processes. Empty: local steps only.',
    default: '(none)',
  },
  queuePrefix: {
    name: 'CAIRN_QUEUE_PREFIX',
    description: 'Key prefix of the job queue in Redis, so several Cairn installations can share one Redis.',
    default: 'cairn',
  },
  queueLockSeconds: {
    name: 'CAIRN_QUEUE_LOCK_SECONDS',
    description:
      "How long a worker's claim on a step lasts without renewal. A live worker renews it every half of it, so long steps are never taken away; a killed worker's step goes to another worker after at most 1.5× this.",
    default: '30',
  },
  workerConcurrency: {
    name: 'CAIRN_WORKER_CONCURRENCY',
    flag: '--concurrency',
    description: '`cairn worker`: steps it runs at once. Default: the number of cores.',
    default: '(cores)',
  },
  port: { name: 'CAIRN_PORT', flag: '--port', description: 'TCP port to listen on.', default: '5000' },
  dataDir: {
    name: 'CAIRN_DATA_DIR',
    flag: '--data-dir',
    description: 'Folder for the default SQLite database and local blobs.',
    default: './.cairn',
  },
  dbUrl: {
    name: 'CAIRN_DB_URL',
    flag: '--db-url',
    description: 'Metadata database: sqlite:PATH, sqlite::memory: or postgres://user@host:port/db.',
    default: 'sqlite:<data-dir>/cairn.db',
  },
  blobUrl: {
    name: 'CAIRN_BLOB_URL',
    flag: '--blob-url',
    description: 'Blob store: file:PATH or s3://bucket/prefix.',
    default: 'file:<data-dir>/blobs',
  },
  s3Endpoint: {
    name: 'CAIRN_S3_ENDPOINT',
    description: 'Custom S3 endpoint (MinIO, R2, ...). Also read: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL.',
    default: '(AWS)',
  },
  s3Region: {
    name: 'CAIRN_S3_REGION',
    description: 'S3 region. Also read: AWS_REGION.',
    default: 'us-east-1',
  },
  s3ForcePathStyle: {
    name: 'CAIRN_S3_FORCE_PATH_STYLE',
    description: 'Use path-style S3 addressing (true for most MinIO-likes).',
    default: 'true when an endpoint is set',
  },
  bodyLimitMb: {
    name: 'CAIRN_BODY_LIMIT_MB',
    description:
      'Largest JSON request body accepted, in MiB (artifact uploads stream and are not bound by it).',
    default: '32',
  },
  logLevel: {
    name: 'CAIRN_LOG_LEVEL',
    description: 'fatal, error, warn, info, debug, trace or silent.',
    default: 'info',
  },
} as const satisfies Record<string, EnvVarSpec>;

export type EnvVarKey = keyof typeof ENV_VARS;
