import { availableParallelism } from 'node:os';
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { CairnError } from '@cairn/contract';
import { ENV_VARS } from './env-vars.js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface S3Options {
  readonly endpoint: string | undefined;
  readonly region: string;
  readonly forcePathStyle: boolean;
}

export interface CairnConfig {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly dbUrl: string;
  readonly blobUrl: string;
  readonly s3: S3Options;
  readonly bodyLimitBytes: number;
  readonly logLevel: LogLevel;
  readonly auth: AuthOptions;
  readonly audit: AuditOptions;
  readonly pipelines: PipelineOptions;
}

export interface PipelineOptions {
  /** Steps the local executor runs at once. */
  readonly slots: number;
  /** The BullMQ queue's Redis URL; undefined: no queue executor. */
  readonly queueUrl: string | undefined;
  /** The environment steps start from: enough to find programs and a home, none of the server's secrets. */
  readonly stepEnv: Readonly<Record<string, string>>;
  /** Key prefix of the queue in Redis. */
  readonly queuePrefix: string;
  /** A worker's claim on a step lasts this long unrenewed. */
  readonly queueLockMs: number;
  /** `cairn worker`: steps at once. */
  readonly workerConcurrency: number;
}

const STEP_ENV = [
  'PATH',
  'HOME',
  'LANG',
  'LC_ALL',
  'TZ',
  'TMPDIR',
  'USER',
  'PYTHONPATH',
  'VIRTUAL_ENV',
  'NODE_PATH',
];

export interface AuthOptions {
  readonly enabled: boolean;
  /** The first admin's token when auth is on and no user exists yet. */
  readonly adminToken: string | undefined;
}

export interface AuditOptions {
  /** Events older than this are deleted; undefined keeps them forever. */
  readonly retentionDays: number | undefined;
  /** Never delete younger events than this, whatever asks. */
  readonly minRetentionDays: number;
  readonly keyFile: string;
  /** Minutes between scheduled signed checkpoints; 0 for none. */
  readonly checkpointMinutes: number;
}

/** Values given on the command line; they win over the environment and the config file. */
export type ConfigFlags = Partial<
  Record<
    'host' | 'port' | 'dataDir' | 'dbUrl' | 'blobUrl' | 'auth' | 'queueUrl' | 'workerConcurrency',
    string
  >
>;

export interface LoadConfigOptions {
  flags?: ConfigFlags;
  env?: Readonly<Record<string, string | undefined>>;
  /** Folder the relative paths and `cairn.config.json` are looked up from. */
  cwd?: string;
}

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function readConfigFile(cwd: string): Record<string, unknown> {
  const file = path.join(cwd, 'cairn.config.json');
  if (!existsSync(file)) return {};
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new Error('the top level must be a JSON object');
    }
    return parsed as Record<string, unknown>;
  } catch (error) {
    throw new CairnError('INVALID_ARGUMENT', `cairn.config.json cannot be read: ${(error as Error).message}`);
  }
}

function parsePort(raw: string, source: string): number {
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new CairnError('INVALID_ARGUMENT', `${source} must be a port number from 0 to 65535, got "${raw}"`);
  }
  return port;
}

function parseBool(raw: string, source: string): boolean {
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new CairnError('INVALID_ARGUMENT', `${source} must be true or false, got "${raw}"`);
}

function deepFreeze<T extends object>(value: T): Readonly<T> {
  for (const child of Object.values(value)) {
    if (typeof child === 'object' && child !== null) deepFreeze(child as object);
  }
  return Object.freeze(value);
}

/**
 * flags > CAIRN_* env > cairn.config.json > defaults, parsed and checked once.
 */
export function loadConfig(options: LoadConfigOptions = {}): CairnConfig {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const flags = options.flags ?? {};
  const file = readConfigFile(cwd);

  const pick = (
    key: keyof typeof ENV_VARS,
    fileKey: string,
  ): { value: string | undefined; source: string } => {
    const spec = ENV_VARS[key];
    const flagValue = (flags as Record<string, string | undefined>)[key];
    if (flagValue !== undefined) return { value: flagValue, source: 'flag' in spec ? spec.flag : spec.name };
    const envValue = env[spec.name];
    if (envValue !== undefined && envValue !== '') return { value: envValue, source: spec.name };
    const fileValue = file[fileKey];
    if (fileValue !== undefined)
      return { value: String(fileValue), source: `cairn.config.json "${fileKey}"` };
    return { value: undefined, source: spec.name };
  };

  const dataDir = path.resolve(cwd, pick('dataDir', 'dataDir').value ?? ENV_VARS.dataDir.default);
  const host = pick('host', 'host').value ?? ENV_VARS.host.default;
  const portPick = pick('port', 'port');
  const port = parsePort(portPick.value ?? ENV_VARS.port.default, portPick.source);
  const dbUrl = pick('dbUrl', 'dbUrl').value ?? `sqlite:${path.join(dataDir, 'cairn.db')}`;
  const blobUrl = pick('blobUrl', 'blobUrl').value ?? `file:${path.join(dataDir, 'blobs')}`;

  const endpoint =
    pick('s3Endpoint', 's3Endpoint').value ??
    env['AWS_ENDPOINT_URL_S3'] ??
    env['AWS_ENDPOINT_URL'] ??
    undefined;
  const region = pick('s3Region', 's3Region').value ?? env['AWS_REGION'] ?? ENV_VARS.s3Region.default;
  const pathStylePick = pick('s3ForcePathStyle', 's3ForcePathStyle');
  const forcePathStyle =
    pathStylePick.value === undefined
      ? endpoint !== undefined
      : parseBool(pathStylePick.value, pathStylePick.source);

  const bodyPick = pick('bodyLimitMb', 'bodyLimitMb');
  const bodyLimitMb = Number(bodyPick.value ?? ENV_VARS.bodyLimitMb.default);
  if (!Number.isFinite(bodyLimitMb) || bodyLimitMb <= 0) {
    throw new CairnError('INVALID_ARGUMENT', `${bodyPick.source} must be a positive number of MiB`);
  }
  const logPick = pick('logLevel', 'logLevel');
  const logLevel = (logPick.value ?? ENV_VARS.logLevel.default) as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new CairnError('INVALID_ARGUMENT', `${logPick.source} must be one of ${LOG_LEVELS.join(', ')}`);
  }

  const authPick = pick('auth', 'auth');
  const authEnabled = authPick.value === undefined ? false : parseBool(authPick.value, authPick.source);
  // A secret is read from the environment only, never from cairn.config.json.
  const adminToken = env[ENV_VARS.adminToken.name] === '' ? undefined : env[ENV_VARS.adminToken.name];
  if (adminToken !== undefined && adminToken.length < 32) {
    throw new CairnError(
      'INVALID_ARGUMENT',
      'CAIRN_ADMIN_TOKEN must be at least 32 characters (try: openssl rand -hex 32)',
    );
  }
  const minPick = pick('auditMinRetentionDays', 'auditMinRetentionDays');
  const minRetentionDays = parseDays(minPick.value ?? ENV_VARS.auditMinRetentionDays.default, minPick.source);
  const retentionPick = pick('auditRetentionDays', 'auditRetentionDays');
  const retentionDays =
    retentionPick.value === undefined ? undefined : parseDays(retentionPick.value, retentionPick.source);
  if (retentionDays !== undefined && retentionDays < minRetentionDays) {
    throw new CairnError(
      'INVALID_ARGUMENT',
      `${retentionPick.source} (${retentionDays} days) is below the audit minimum retention of ${minRetentionDays} days (${minPick.source}); audit events that young are never deleted.`,
    );
  }
  const checkpointPick = pick('auditCheckpointMinutes', 'auditCheckpointMinutes');
  const checkpointMinutes = parseMinutes(
    checkpointPick.value ?? ENV_VARS.auditCheckpointMinutes.default,
    checkpointPick.source,
  );
  const keyFile = path.resolve(
    cwd,
    pick('auditKeyFile', 'auditKeyFile').value ?? path.join(dataDir, 'audit-signing-key.pem'),
  );

  const slotsPick = pick('pipelineSlots', 'pipelineSlots');
  const slots = slotsPick.value === undefined ? availableParallelism() : Number(slotsPick.value);
  if (!Number.isInteger(slots) || slots < 1 || slots > 1024) {
    throw new CairnError('INVALID_ARGUMENT', `${slotsPick.source} must be a whole number from 1 to 1024`);
  }
  const queueUrl = pick('queueUrl', 'queueUrl').value;
  const queuePrefix = pick('queuePrefix', 'queuePrefix').value ?? ENV_VARS.queuePrefix.default;
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(queuePrefix)) {
    throw new CairnError(
      'INVALID_ARGUMENT',
      'CAIRN_QUEUE_PREFIX must be 1–64 letters, digits, ".", "_" or "-"',
    );
  }
  const lockPick = pick('queueLockSeconds', 'queueLockSeconds');
  const lockSeconds = Number(lockPick.value ?? ENV_VARS.queueLockSeconds.default);
  if (!Number.isFinite(lockSeconds) || lockSeconds < 1 || lockSeconds > 3600) {
    throw new CairnError('INVALID_ARGUMENT', `${lockPick.source} must be a number of seconds from 1 to 3600`);
  }
  const concurrencyPick = pick('workerConcurrency', 'workerConcurrency');
  const workerConcurrency =
    concurrencyPick.value === undefined ? availableParallelism() : Number(concurrencyPick.value);
  if (!Number.isInteger(workerConcurrency) || workerConcurrency < 1 || workerConcurrency > 1024) {
    throw new CairnError(
      'INVALID_ARGUMENT',
      `${concurrencyPick.source} must be a whole number from 1 to 1024`,
    );
  }
  if (queueUrl !== undefined && !/^rediss?:\/\//.test(queueUrl)) {
    throw new CairnError(
      'INVALID_ARGUMENT',
      `CAIRN_QUEUE_URL must be a redis:// or rediss:// URL, got "${queueUrl}"`,
    );
  }

  return deepFreeze({
    host,
    port,
    dataDir,
    dbUrl: resolveSqlitePath(dbUrl, cwd),
    blobUrl: resolveFilePath(blobUrl, cwd),
    s3: { endpoint, region, forcePathStyle },
    bodyLimitBytes: Math.floor(bodyLimitMb * 1024 * 1024),
    logLevel,
    auth: { enabled: authEnabled, adminToken },
    audit: { retentionDays, minRetentionDays, keyFile, checkpointMinutes },
    pipelines: {
      slots,
      queueUrl,
      queuePrefix,
      queueLockMs: lockSeconds * 1000,
      workerConcurrency,
      stepEnv: Object.fromEntries(
        STEP_ENV.flatMap((name) => (env[name] === undefined ? [] : [[name, env[name] as string]])),
      ),
    },
  });
}

function parseDays(raw: string, source: string): number {
  const days = Number(raw);
  if (!Number.isFinite(days) || days < 0 || raw.trim() === '') {
    throw new CairnError('INVALID_ARGUMENT', `${source} must be a number of days, got "${raw}"`);
  }
  return days;
}

function parseMinutes(raw: string, source: string): number {
  const minutes = Number(raw);
  if (!Number.isFinite(minutes) || minutes < 0 || raw.trim() === '') {
    throw new CairnError(
      'INVALID_ARGUMENT',
      `${source} must be a number of minutes (0 for none), got "${raw}"`,
    );
  }
  return minutes;
}

function resolveSqlitePath(url: string, cwd: string): string {
  if (!url.startsWith('sqlite:')) return url;
  const rest = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
  if (rest === ':memory:' || rest === '') return 'sqlite::memory:';
  return `sqlite:${path.resolve(cwd, rest)}`;
}

function resolveFilePath(url: string, cwd: string): string {
  if (url.startsWith('file://')) return `file:${path.resolve(cwd, url.slice('file://'.length))}`;
  if (url.startsWith('file:')) return `file:${path.resolve(cwd, url.slice('file:'.length))}`;
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return `file:${path.resolve(cwd, url)}`;
  return url;
}
