import { DEPLOYMENT_NAME_PATTERN } from '@cairn/contract';
import type {
  CanaryInput,
  CreateDeploymentInput,
  DeploymentPatch,
  DeploymentSettingsInput,
  ShadowInput,
} from '@cairn/sdk';
import { UsageError } from '../output/errors.js';

/**
 * The `cairn deploy` flags read into SDK inputs. Everything here is pure and
 * throws only UsageError (exit 2), so bad input is refused before any request.
 */

const NAME = new RegExp(DEPLOYMENT_NAME_PATTERN);
const WHOLE = /^\d+$/;
const DECIMAL = /^(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;

export function deploymentName(text: string): string {
  if (!NAME.test(text)) {
    throw new UsageError(
      `"${text}" is not a deployment name (up to 128 letters, digits, ".", "_", "-", starting with a letter or digit)`,
    );
  }
  return text;
}

/** A whole number from `min` to `max`, written in digits only (no signs, spaces, exponents or hex). */
export function wholeNumber(text: string, flag: string, range: { min: number; max?: number }): number {
  const max = range.max ?? Number.MAX_SAFE_INTEGER;
  const n = WHOLE.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!Number.isSafeInteger(n) || n < range.min || n > max) {
    const bounds = range.max === undefined ? `${range.min} or more` : `from ${range.min} to ${range.max}`;
    throw new UsageError(`${flag} must be a whole number ${bounds}, not "${text}"`);
  }
  return n;
}

/** `churn@champion`, `churn/3` (or a `models:/…` URI): what the server resolves to one version. */
export function modelRef(text: string, flag = '--model'): string {
  const ref = text.trim();
  if (ref === '')
    throw new UsageError(`${flag} names no model version (expected e.g. churn@champion or churn/3)`);
  return ref;
}

/**
 * Where a `:NUMBER` suffix starts, or -1. The version part of a reference (an
 * alias or a number after the last `@` or `/`) never holds a colon, so only a
 * colon after both separates a suffix — `models:/churn/3` has none.
 */
function suffixColon(text: string): number {
  const colon = text.lastIndexOf(':');
  return colon > Math.max(text.lastIndexOf('@'), text.lastIndexOf('/')) ? colon : -1;
}

/** `--canary REF:WEIGHT`: the version gets WEIGHT percent (1–99) of live traffic. */
export function parseCanary(text: string): CanaryInput {
  const colon = suffixColon(text);
  if (colon === -1) {
    throw new UsageError(
      `--canary "${text}" needs a weight: REF:WEIGHT, e.g. churn@challenger:10 for 10% of the traffic`,
    );
  }
  const model = modelRef(text.slice(0, colon), `--canary "${text}"`);
  const weight = text.slice(colon + 1).trim();
  if (!WHOLE.test(weight) || Number(weight) < 1 || Number(weight) > 99) {
    throw new UsageError(
      `--canary "${text}": the weight must be a whole percent from 1 to 99, not "${weight}"`,
    );
  }
  return { model, weight: Number(weight) };
}

/** `--shadow REF[:PERCENT]`: the version sees a copy of PERCENT (1–100, default 100) of live requests. */
export function parseShadow(text: string): ShadowInput {
  const colon = suffixColon(text);
  const model = modelRef(colon === -1 ? text : text.slice(0, colon), `--shadow "${text}"`);
  if (colon === -1) return { model, percent: 100 };
  const percent = text.slice(colon + 1).trim();
  if (!WHOLE.test(percent) || Number(percent) < 1 || Number(percent) > 100) {
    throw new UsageError(
      `--shadow "${text}": the percent must be a whole number from 1 to 100, not "${percent}"`,
    );
  }
  return { model, percent: Number(percent) };
}

/** Every `--canary`, checked together: the primary model must keep some traffic. */
export function parseCanaries(texts: readonly string[]): CanaryInput[] {
  const canaries = texts.map(parseCanary);
  const total = canaries.reduce((sum, c) => sum + c.weight, 0);
  if (total >= 100) {
    throw new UsageError(
      `--canary weights add up to ${total}%; they must leave the primary model some traffic (at most 99% in all)`,
    );
  }
  return canaries;
}

export interface SettingsFlags {
  maxBatchSize?: string;
  maxBatchWaitMs?: string;
  maxQueue?: string;
  sampleRate?: string;
}

/** The settings flags given, or undefined when none is. */
export function parseSettings(flags: SettingsFlags): DeploymentSettingsInput | undefined {
  const settings: DeploymentSettingsInput = {};
  if (flags.maxBatchSize !== undefined) {
    settings.maxBatchSize = wholeNumber(flags.maxBatchSize, '--max-batch-size', { min: 1 });
  }
  if (flags.maxBatchWaitMs !== undefined) {
    settings.maxBatchWaitMs = wholeNumber(flags.maxBatchWaitMs, '--max-batch-wait-ms', { min: 0 });
  }
  if (flags.maxQueue !== undefined) {
    settings.maxQueue = wholeNumber(flags.maxQueue, '--max-queue', { min: 1 });
  }
  if (flags.sampleRate !== undefined) {
    const text = flags.sampleRate.trim();
    const rate = DECIMAL.test(text) ? Number(text) : NaN;
    if (!(rate >= 0 && rate <= 1)) {
      throw new UsageError(
        `--sample-rate must be a number from 0 to 1 (the share of requests logged), not "${flags.sampleRate}"`,
      );
    }
    settings.sampleRate = rate;
  }
  return Object.keys(settings).length === 0 ? undefined : settings;
}

/** Follow mode tracks an alias, so the primary must be named by one: `churn@champion`, not `churn/3`. */
function checkFollowable(model: string): void {
  const at = model.lastIndexOf('@');
  if (at <= 0 || WHOLE.test(model.slice(at + 1))) {
    throw new UsageError(
      `--follow needs --model named by an alias (NAME@ALIAS, e.g. churn@champion), not "${model}"`,
    );
  }
}

export interface CreateFlags extends SettingsFlags {
  model: string;
  canary?: string[];
  shadow?: string[];
  follow?: boolean;
  port?: string;
  project?: string;
  description?: string;
}

export function createInput(name: string, flags: CreateFlags): CreateDeploymentInput {
  const model = modelRef(flags.model);
  if (flags.follow === true) checkFollowable(model);
  const settings = parseSettings(flags);
  return {
    name: deploymentName(name),
    model,
    ...(flags.project === undefined ? {} : { project: flags.project }),
    ...(flags.description === undefined ? {} : { description: flags.description }),
    ...(flags.canary === undefined ? {} : { canary: parseCanaries(flags.canary) }),
    ...(flags.shadow === undefined ? {} : { shadows: flags.shadow.map(parseShadow) }),
    ...(flags.follow === true ? { follow: true } : {}),
    ...(settings === undefined ? {} : { settings }),
    ...(flags.port === undefined ? {} : { port: wholeNumber(flags.port, '--port', { min: 1, max: 65_535 }) }),
  };
}

export interface UpdateFlags extends SettingsFlags {
  model?: string;
  canary?: string[];
  noCanary?: boolean;
  shadow?: string[];
  noShadow?: boolean;
  follow?: boolean;
  noFollow?: boolean;
}

function exclusive(yes: boolean, no: boolean, choice: string): void {
  if (yes && no) throw new UsageError(`give ${choice}, not both`);
}

/** The changes the flags ask for; a flag left out keeps the current revision's value. */
export function updatePatch(flags: UpdateFlags): DeploymentPatch {
  exclusive(flags.canary !== undefined, flags.noCanary === true, '--canary or --no-canary');
  exclusive(flags.shadow !== undefined, flags.noShadow === true, '--shadow or --no-shadow');
  exclusive(flags.follow === true, flags.noFollow === true, '--follow or --no-follow');
  const model = flags.model === undefined ? undefined : modelRef(flags.model);
  if (model !== undefined && flags.follow === true) checkFollowable(model);
  const canary =
    flags.noCanary === true ? [] : flags.canary === undefined ? undefined : parseCanaries(flags.canary);
  const shadows = flags.noShadow === true ? [] : flags.shadow?.map(parseShadow);
  const follow = flags.follow === true ? true : flags.noFollow === true ? false : undefined;
  const settings = parseSettings(flags);
  const patch: DeploymentPatch = {
    ...(model === undefined ? {} : { model }),
    ...(canary === undefined ? {} : { canary }),
    ...(shadows === undefined ? {} : { shadows }),
    ...(follow === undefined ? {} : { follow }),
    ...(settings === undefined ? {} : { settings }),
  };
  if (Object.keys(patch).length === 0) {
    throw new UsageError(
      'nothing to change: give --model, --canary/--no-canary, --shadow/--no-shadow, --follow/--no-follow or a setting',
    );
  }
  return patch;
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * `--since`/`--until`: a time ago (`30s`, `15m`, `2h`, `7d`), epoch
 * milliseconds, or an ISO date (`2026-03-03`, `2026-03-03T12:00:00Z`); as
 * epoch milliseconds.
 */
export function parseTime(text: string, flag: string, now = Date.now()): number {
  const value = text.trim();
  const ago = /^(\d{1,9})([smhd])$/.exec(value);
  if (ago !== null) return now - Number(ago[1]) * (UNIT_MS[ago[2] ?? 's'] ?? 1000);
  if (/^\d{1,16}$/.test(value)) return Number(value);
  const parsed = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(parsed)) {
    throw new UsageError(
      `${flag} must be a time ago (30m, 2h, 7d), an ISO date such as 2026-03-03T12:00:00Z, or epoch ms; not "${text}"`,
    );
  }
  return parsed;
}

export function parseKind(text: string | undefined): 'live' | 'shadow' | undefined {
  if (text === undefined || text === 'live' || text === 'shadow') return text;
  throw new UsageError(`--kind must be live or shadow, not "${text}"`);
}

/**
 * A JSON flag value, or `@FILE` for a file's content (`@-`: standard input).
 * `read` gets the file name (or `-`) and returns its text.
 */
export function jsonArgument(text: string, flag: string, read: (file: string) => string): unknown {
  const source = text.startsWith('@') ? text.slice(1) : undefined;
  if (source === '') throw new UsageError(`${flag} @FILE: give a file name after "@" (or @- for stdin)`);
  let json: string;
  try {
    json = source === undefined ? text : read(source);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new UsageError(`${flag}: cannot read ${source === '-' ? 'stdin' : source}: ${reason}`);
  }
  try {
    return JSON.parse(json) as unknown;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    const where = source === undefined ? '' : ` in ${source === '-' ? 'stdin' : source}`;
    throw new UsageError(`${flag} must be JSON${where} (${reason}); a text value needs quotes, e.g. '"yes"'`);
  }
}

/** `--instances`: a JSON array of instances, or a whole predict body `{"instances": [...]}`. */
export function parseInstances(value: unknown): unknown[] {
  const instances =
    typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as { instances?: unknown }).instances
      : value;
  if (!Array.isArray(instances)) {
    throw new UsageError(
      '--instances must be a JSON array with one entry per instance (or {"instances": [...]}), e.g. \'[[1.0, 2.5]]\'',
    );
  }
  if (instances.length === 0) throw new UsageError('--instances is empty: give at least one instance');
  return instances;
}
