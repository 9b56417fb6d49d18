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
    description: 'Address to bind. Anything but a loopback address needs auth (a later release).',
    default: '127.0.0.1',
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
