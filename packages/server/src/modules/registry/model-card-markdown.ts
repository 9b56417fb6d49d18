import { CairnError } from '@cairn/contract';
import type { ModelCardFields } from './entities.js';
import type { ModelCardView } from './model-cards.service.js';
import { checkRiskTier } from './validation.js';

/** The editable sections, in order, with the headings used in Markdown. */
const SECTIONS: ReadonlyArray<{
  field: keyof Omit<ModelCardFields, 'riskTier' | 'markdown'>;
  heading: string;
}> = [
  { field: 'intendedUse', heading: 'Intended use' },
  { field: 'outOfScopeUse', heading: 'Out-of-scope use' },
  { field: 'limitations', heading: 'Limitations' },
  { field: 'ethicalConsiderations', heading: 'Ethical considerations' },
];
const RISK_HEADING = 'Risk tier';
const NOTES_HEADING = 'Notes';
const GENERATED = '(generated)';

const cell = (text: string): string => text.replaceAll('|', '\\|').replaceAll('\n', ' ');

/** The card as Markdown: editable sections first, then sections filled from tracking and lineage. */
export function renderCardMarkdown(card: ModelCardView): string {
  const g = card.generated;
  const lines = [
    `# Model card: ${card.model} version ${card.version}`,
    '',
    '| | |',
    '|---|---|',
    `| Model | ${cell(card.model)} |`,
    `| Version | ${card.version} |`,
    `| Format | ${g.format} |`,
    `| Digest | \`${g.digest}\` |`,
    `| Stage | ${g.stage} |`,
    `| Aliases | ${g.aliases.length === 0 ? '—' : g.aliases.map(cell).join(', ')} |`,
    `| Registered | ${new Date(g.createdAt).toISOString()} |`,
    `| Source | ${cell(g.source)} |`,
    '',
  ];
  for (const { field, heading } of SECTIONS)
    lines.push(`## ${heading}`, '', card.fields[field] || '_Not written yet._', '');
  lines.push(`## ${RISK_HEADING}`, '', card.fields.riskTier ?? '_Not assessed._', '');
  if (card.fields.markdown.trim() !== '')
    lines.push(`## ${NOTES_HEADING}`, '', card.fields.markdown.trim(), '');
  lines.push(`## Signature ${GENERATED}`, '');
  if (g.signature === null) lines.push('_No signature recorded._', '');
  else {
    lines.push('| direction | name | type | shape |', '|---|---|---|---|');
    for (const [direction, fields] of [
      ['input', g.signature.inputs],
      ['output', g.signature.outputs],
    ] as const) {
      for (const f of fields) {
        lines.push(
          `| ${direction} | ${cell(f.name ?? '—')} | ${cell(f.type)} | ${f.shape === undefined ? '—' : `[${f.shape.join(', ')}]`} |`,
        );
      }
    }
    lines.push('');
  }
  lines.push(`## Training data ${GENERATED}`, '');
  if (g.trainingData.length === 0) lines.push('_No dataset inputs recorded in lineage._', '');
  else lines.push(...g.trainingData.map((d) => `- ${cell(d.label)} (${d.kind} \`${d.id}\`)`), '');
  lines.push(`## Source run ${GENERATED}`, '');
  if (g.sourceRun === undefined) lines.push('_Not registered from a run._', '');
  else {
    const run = g.sourceRun;
    lines.push(
      `Run \`${run.runId}\` (${cell(run.runName)}), experiment ${run.experimentId}, status ${run.status}.`,
      '',
    );
    const table = (title: string, rows: Array<[string, string]>): void => {
      if (rows.length === 0) return;
      lines.push(
        `### ${title}`,
        '',
        '| name | value |',
        '|---|---|',
        ...rows.map(([k, v]) => `| ${cell(k)} | ${cell(v)} |`),
        '',
      );
    };
    table('Parameters', Object.entries(run.params));
    table(
      'Metrics',
      Object.entries(run.metrics).map(([k, v]) => [k, String(v)]),
    );
  }
  lines.push(`## Code version ${GENERATED}`, '');
  if (g.codeVersions.length === 0) lines.push('_No code version recorded._', '');
  else
    lines.push(
      ...g.codeVersions.map((c) =>
        `- ${c.commit === '' ? '' : `commit \`${c.commit}\``}${c.source === '' ? '' : ` ${cell(c.source)}`}`.trim(),
      ),
      '',
    );
  return `${lines.join('\n').trimEnd()}\n`;
}

/**
 * Reads the editable sections back from Markdown (an edited export). Generated
 * sections and the header table are ignored; sections with other headings are
 * kept, verbatim, in the free-form notes.
 */
export function parseCardMarkdown(text: string): Partial<ModelCardFields> {
  if (text.length > 1_000_000) {
    throw new CairnError('PAYLOAD_TOO_LARGE', 'card: a model card may be at most 1,000,000 characters', {
      field: 'card',
    });
  }
  const result: Partial<ModelCardFields> = {};
  const notes: string[] = [];
  let current: string | undefined;
  let body: string[] = [];
  const flush = (): void => {
    if (current === undefined) return;
    const content = body.join('\n').trim();
    const placeholder = /^_(Not written yet|Not assessed)\._$/.test(content);
    const section = SECTIONS.find((s) => s.heading.toLowerCase() === current?.toLowerCase());
    if (section !== undefined) result[section.field] = placeholder ? '' : content;
    else if (current.toLowerCase() === RISK_HEADING.toLowerCase())
      result.riskTier = placeholder ? null : checkRiskTier(content, 'risk_tier');
    else if (current.toLowerCase() === NOTES_HEADING.toLowerCase()) notes.push(content);
    else if (!current.toLowerCase().endsWith(GENERATED)) notes.push(`## ${current}\n\n${content}`);
  };
  for (const line of text.split(/\r?\n/)) {
    const heading = /^##\s+(.+?)\s*#*\s*$/.exec(line);
    if (heading !== null && !line.startsWith('###')) {
      flush();
      current = heading[1] ?? '';
      body = [];
    } else if (current !== undefined) body.push(line);
  }
  flush();
  if (current === undefined) {
    throw new CairnError(
      'INVALID_ARGUMENT',
      `card: no "## " sections found; expected headings such as ## ${SECTIONS.map((s) => s.heading).join(', ## ')}`,
      { field: 'card' },
    );
  }
  if (notes.length > 0) result.markdown = notes.join('\n\n');
  return result;
}
