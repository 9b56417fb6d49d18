import {
  PROMOTION_STATUSES,
  type PromotionCheck,
  type PromotionRequest,
  type PromotionStatus,
} from '@cairn/contract';
import type { Command } from 'commander';
import { UsageError } from '../output/errors.js';
import { printJson, printLine } from '../output/print.js';
import { formatTime, renderTable } from '../output/table.js';
import { clientFor, parsePositiveInt } from './context.js';

interface JsonFlag {
  json?: boolean;
}

/** `churn/3` → name and version; a name may itself hold `/`, so the last one splits. */
function splitVersionRef(ref: string): { model: string; version: number } {
  const slash = ref.lastIndexOf('/');
  if (slash < 1 || slash === ref.length - 1) {
    throw new UsageError(`expected NAME/VERSION (e.g. churn/3), not "${ref}"`);
  }
  return { model: ref.slice(0, slash), version: parsePositiveInt(ref.slice(slash + 1), 'VERSION') };
}

const target = (p: PromotionRequest): string =>
  `${p.target.kind} ${p.target.name}${p.archiveExisting ? ' (archiving the versions there)' : ''}`;
const str = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value));

/** One line of evidence a reviewer can act on, per kind of check. */
export function evidenceLine(check: PromotionCheck): string {
  const e = check.evidence;
  const names = (key: string): string[] => (Array.isArray(e[key]) ? (e[key] as unknown[]).map(str) : []);
  if (check.id.startsWith('metric:')) {
    if (e['value'] === null) return str(e['reason']);
    return `${str(e['metric'])} = ${str(e['value'])} (run ${str(e['runId'])})`;
  }
  switch (check.id) {
    case 'model_card':
      return names('missing').length > 0
        ? `missing: ${names('missing').join(', ')}`
        : `present: ${names('present').join(', ')}`;
    case 'training_data': {
      const datasets = Array.isArray(e['datasets']) ? (e['datasets'] as Array<{ label?: unknown }>) : [];
      if (datasets.length > 0) return `datasets: ${datasets.map((d) => str(d.label)).join(', ')}`;
      return e['reason'] === undefined
        ? `no dataset input recorded for run ${str(e['runId'])}`
        : str(e['reason']);
    }
    case 'approvals': {
      const who = names('approvedBy').length > 0 ? `: ${names('approvedBy').join(', ')}` : '';
      const tier = e['riskTier'] === null ? '' : ` (risk tier ${str(e['riskTier'])})`;
      return `${str(e['count'])} of ${str(e['required'])}${tier}${who}`;
    }
    case 'four_eyes':
      return `requester ${str(e['requester'])}`;
    case 'expiry':
      return `until ${formatTime(typeof e['expiresAt'] === 'number' ? e['expiresAt'] : null)}`;
    default:
      return JSON.stringify(e).slice(0, 200);
  }
}

export function describePromotion(p: PromotionRequest, now = Date.now()): string[] {
  const hours = Math.max(0, Math.ceil((p.expiresAt - now) / 3_600_000));
  const left = hours >= 48 ? `${Math.floor(hours / 24)} days` : `${hours} h`;
  const expiry = p.status === 'pending' ? `${formatTime(p.expiresAt)} (in ${left})` : formatTime(p.expiresAt);
  const lines = [
    `Promotion    ${p.id}  ${p.status.toUpperCase()}`,
    `Model        ${p.model} version ${p.version} → ${target(p)}  (project ${p.project})`,
    `Requested    ${formatTime(p.createdAt)} by ${p.requester}${p.reason === '' ? '' : `: ${p.reason}`}`,
    `Expires      ${expiry}`,
    `Policy       ${p.policyVersion === null ? 'the default' : `version ${p.policyVersion}`}`,
    `Approvals    ${p.approvals.count}/${p.approvals.required}` +
      (p.approvals.riskTier === null ? '' : ` (risk tier ${p.approvals.riskTier})`),
    '',
    `Checks (evaluated ${formatTime(p.evaluatedAt)}): ${p.passed ? 'all passed' : 'not all passed'}`,
  ];
  const width = Math.max(...p.checks.map((c) => c.id.length));
  for (const check of p.checks) {
    lines.push(`  ${check.passed ? '✓' : '✗'} ${check.id.padEnd(width)}  ${evidenceLine(check)}`);
  }
  if (p.reviews.length > 0) {
    lines.push('', 'Reviews');
    for (const r of p.reviews) {
      lines.push(
        `  ${r.reviewer}  ${r.decision}  ${formatTime(r.createdAt)}${r.comment === '' ? '' : `  ${r.comment}`}`,
      );
    }
  }
  if (p.decidedAt !== null) {
    const comment = p.decisionComment === null || p.decisionComment === '' ? '' : `: ${p.decisionComment}`;
    lines.push('', `Decided      ${p.status} ${formatTime(p.decidedAt)} by ${p.decidedBy ?? '-'}${comment}`);
  }
  return lines;
}

function print(p: PromotionRequest, json: boolean | undefined): void {
  if (json === true) printJson(p);
  else for (const line of describePromotion(p)) printLine(line);
}

export async function requestPromotionCommand(
  ...args: [
    string,
    JsonFlag & { alias?: string; stage?: string; archiveExisting?: boolean; message?: string },
    Command,
  ]
): Promise<void> {
  const [ref, flags, command] = args;
  const { model, version } = splitVersionRef(ref);
  if ((flags.alias === undefined) === (flags.stage === undefined)) {
    throw new UsageError('give either --alias ALIAS or --stage STAGE');
  }
  const created = await clientFor(command).promotions.request({
    model,
    version,
    ...(flags.alias === undefined ? {} : { alias: flags.alias }),
    ...(flags.stage === undefined ? {} : { stage: flags.stage }),
    ...(flags.archiveExisting === true ? { archiveExisting: true } : {}),
    ...(flags.message === undefined ? {} : { reason: flags.message }),
  });
  if (flags.json === true) {
    printJson(created);
    return;
  }
  for (const line of describePromotion(created)) printLine(line);
  if (created.status === 'pending') {
    printLine();
    printLine(`An approver decides with: cairn promotions approve ${created.id} -m COMMENT`);
  }
}

function parseStatus(status: string | undefined): PromotionStatus | undefined {
  if (status === undefined) return undefined;
  if (!(PROMOTION_STATUSES as readonly string[]).includes(status)) {
    throw new UsageError(`--status must be one of ${PROMOTION_STATUSES.join(', ')}, not "${status}"`);
  }
  return status as PromotionStatus;
}

export async function listPromotionsCommand(
  ...args: [
    JsonFlag & { project?: string; status?: string; model?: string; maxResults?: string; pageToken?: string },
    Command,
  ]
): Promise<void> {
  const [flags, command] = args;
  const status = parseStatus(flags.status);
  const page = await clientFor(command).promotions.list({
    ...(flags.project === undefined ? {} : { project: flags.project }),
    ...(status === undefined ? {} : { status }),
    ...(flags.model === undefined ? {} : { model: flags.model }),
    ...(flags.maxResults === undefined
      ? {}
      : { maxResults: parsePositiveInt(flags.maxResults, '--max-results') }),
    ...(flags.pageToken === undefined ? {} : { pageToken: flags.pageToken }),
  });
  if (flags.json === true) {
    printJson(page);
    return;
  }
  if (page.promotions.length === 0) {
    printLine('No promotion requests.');
    return;
  }
  printLine(
    renderTable(page.promotions, [
      { header: 'ID', value: (p) => p.id, keep: true },
      { header: 'STATUS', value: (p) => p.status, keep: true },
      { header: 'MODEL', value: (p) => `${p.model}/${p.version}` },
      { header: 'TARGET', value: target, keep: true },
      { header: 'APPROVED', value: (p) => `${p.approvals.count}/${p.approvals.required}`, align: 'right' },
      {
        header: 'CHECKS',
        value: (p) => (p.passed ? 'passed' : `${p.checks.filter((c) => !c.passed).length} failing`),
      },
      { header: 'REQUESTER', value: (p) => p.requester },
      { header: 'CREATED', value: (p) => formatTime(p.createdAt), keep: true },
    ]),
  );
  if (page.nextPageToken !== undefined) printLine(`More: --page-token ${page.nextPageToken}`);
}

export async function showPromotionCommand(...args: [string, JsonFlag, Command]): Promise<void> {
  const [id, flags, command] = args;
  print(await clientFor(command).promotions.get(id), flags.json);
}

/** approve, reject, cancel: a decision with an optional (for reject, required) comment. */
export function decideCommand(verb: 'approve' | 'reject' | 'cancel') {
  return async (...args: [string, JsonFlag & { message?: string }, Command]): Promise<void> => {
    const [id, flags, command] = args;
    if (verb === 'reject' && (flags.message === undefined || flags.message.trim() === '')) {
      throw new UsageError('say why with -m COMMENT: a rejection is final');
    }
    const promotions = clientFor(command).promotions;
    const decided =
      verb === 'reject'
        ? await promotions.reject(id, flags.message ?? '')
        : await promotions[verb](id, flags.message);
    print(decided, flags.json);
  };
}

export async function evaluatePromotionCommand(...args: [string, JsonFlag, Command]): Promise<void> {
  const [id, flags, command] = args;
  print(await clientFor(command).promotions.evaluate(id), flags.json);
}
