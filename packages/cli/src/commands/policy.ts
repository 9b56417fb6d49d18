import { readFile } from 'node:fs/promises';
import type { PolicyFormat, ProjectPolicy } from '@cairn/contract';
import type { Command } from 'commander';
import { UsageError } from '../output/errors.js';
import { printJson, printLine } from '../output/print.js';
import { formatTime, renderTable } from '../output/table.js';
import { clientFor } from './context.js';

interface JsonFlag {
  json?: boolean;
}

const list = (items: readonly string[]): string => (items.length === 0 ? 'none' : items.join(', '));

/** The policy in words: what is protected and what a request must pass. */
export function describePolicy(policy: ProjectPolicy): string[] {
  const { protect, checks, approvals, fourEyes, requestTtlDays } = policy.document;
  const tiers = Object.entries(approvals.byRiskTier).map(([tier, n]) => `${tier} ${n}`);
  const origin = policy.isDefault
    ? `default (${policy.comment})`
    : `version ${policy.version}, set ${formatTime(policy.createdAt)} by ${policy.createdBy}` +
      (policy.comment === '' ? '' : ` — ${policy.comment}`);
  return [
    `Project      ${policy.project}`,
    `Policy       ${origin}`,
    `Protected    aliases: ${list(protect.aliases)}; stages: ${list(protect.stages)}`,
    `Metrics      ${list(checks.metrics)}`,
    `Model card   ${checks.modelCard.length === 0 ? 'no fields required' : `required: ${checks.modelCard.join(', ')}`}`,
    `Train data   ${checks.trainingData ? 'a dataset input must be recorded in lineage' : 'not checked'}`,
    `Approvals    ${approvals.default}${tiers.length === 0 ? '' : ` (by risk tier: ${tiers.join(', ')})`}`,
    `Four eyes    ${fourEyes ? 'yes: the requester may not approve' : 'no'}`,
    `Expiry       requests expire after ${requestTtlDays} day(s)`,
  ];
}

export async function showPolicyCommand(
  ...args: [string | undefined, JsonFlag & { source?: boolean }, Command]
): Promise<void> {
  const [project = 'default', flags, command] = args;
  const policy = await clientFor(command).policies.get(project);
  if (flags.json === true) {
    printJson(policy);
    return;
  }
  if (flags.source === true) {
    process.stdout.write(
      policy.source === '' ? `${JSON.stringify(policy.document, null, 2)}\n` : policy.source,
    );
    return;
  }
  for (const line of describePolicy(policy)) printLine(line);
}

/** `.json` is JSON, `.yaml`/`.yml` YAML; anything else (or stdin) is told apart by its first character. */
function formatOf(file: string, text: string): PolicyFormat {
  if (/\.json$/i.test(file)) return 'json';
  if (/\.ya?ml$/i.test(file)) return 'yaml';
  return text.trimStart().startsWith('{') ? 'json' : 'yaml';
}

async function readPolicyFile(file: string): Promise<string> {
  if (file === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as Error).message}`);
  }
}

export async function setPolicyCommand(
  ...args: [string, string, JsonFlag & { message?: string }, Command]
): Promise<void> {
  const [project, file, flags, command] = args;
  const source = await readPolicyFile(file);
  const policy = await clientFor(command).policies.set(project, {
    source,
    format: formatOf(file, source),
    ...(flags.message === undefined ? {} : { comment: flags.message }),
  });
  if (flags.json === true) {
    printJson(policy);
    return;
  }
  printLine(`Stored policy version ${policy.version} of project ${policy.project}.`);
  for (const line of describePolicy(policy).slice(2)) printLine(line);
}

export async function policyHistoryCommand(...args: [string, JsonFlag, Command]): Promise<void> {
  const [project, flags, command] = args;
  const policies = await clientFor(command).policies.history(project);
  if (flags.json === true) {
    printJson({ policies });
    return;
  }
  if (policies.length === 0) {
    printLine(`No policy stored for ${project}: the default applies (cairn policy show ${project}).`);
    return;
  }
  printLine(
    renderTable(policies, [
      { header: 'VERSION', value: (p) => String(p.version), keep: true, align: 'right' },
      { header: 'SET', value: (p) => formatTime(p.createdAt), keep: true },
      { header: 'BY', value: (p) => p.createdBy ?? '-' },
      { header: 'FORMAT', value: (p) => p.format },
      {
        header: 'PROTECTS',
        value: (p) => [...p.document.protect.aliases, ...p.document.protect.stages].join(', '),
      },
      { header: 'COMMENT', value: (p) => p.comment.split('\n')[0] ?? '' },
    ]),
  );
}
