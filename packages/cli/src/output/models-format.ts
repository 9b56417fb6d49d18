import type { ModelSignature, ModelVersion, SignatureField } from '@cairn/contract';
import { renderTable } from './table.js';

/** Readable forms of registry values shared by the `cairn models` commands. */

const count = new Intl.NumberFormat('en-US');

/** `1,000` */
export function formatCount(n: number): string {
  return count.format(n);
}

/** Decimal units, as disks and networks count them: `12.3 MB`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

/** `sha256:9f86d081884c…`: enough to tell versions apart at a glance; `--json` has the whole digest. */
export function shortDigest(digest: string): string {
  const [algorithm, hex = ''] = digest.split(':', 2);
  return hex.length > 12 ? `${algorithm}:${hex.slice(0, 12)}…` : digest;
}

/** `onnx, 1,000 files, 12.3 MB, sha256:…` */
export function versionSummary(v: ModelVersion): string {
  const files = `${formatCount(v.fileCount)} file${v.fileCount === 1 ? '' : 's'}`;
  return `${v.format}, ${files}, ${formatBytes(v.sizeBytes)}, ${shortDigest(v.digest)}`;
}

export function formatShape(field: SignatureField): string {
  if (field.shape === undefined) return '';
  const dims = field.shape.map((d, i) => (d >= 0 ? String(d) : (field.dimNames?.[i] ?? '?')));
  return `[${dims.join(', ')}]`;
}

/** Inputs, outputs and params as one aligned table. */
export function signatureTable(signature: ModelSignature): string {
  const type = (f: SignatureField): string =>
    f.type === 'UNKNOWN' && f.onnxType !== undefined ? f.onnxType : f.type;
  const rows: string[][] = [
    ...signature.inputs.map((f) => ['input', f.name ?? '-', type(f), formatShape(f)]),
    ...signature.outputs.map((f) => ['output', f.name ?? '-', type(f), formatShape(f)]),
    ...(signature.params ?? []).map((p) => [
      'param',
      String(p['name'] ?? '-'),
      String(p['type'] ?? ''),
      p['default'] === undefined ? '' : `default ${JSON.stringify(p['default'])}`,
    ]),
  ];
  return renderTable(rows, [
    { header: 'DIRECTION', value: (r) => r[0] ?? '', keep: true },
    { header: 'NAME', value: (r) => r[1] ?? '' },
    { header: 'TYPE', value: (r) => r[2] ?? '' },
    { header: 'SHAPE', value: (r) => r[3] ?? '' },
  ]);
}

/** `champion → 3, challenger → 2` */
export function aliasList(aliases: Record<string, number>): string {
  const entries = Object.entries(aliases).sort(([a], [b]) => a.localeCompare(b));
  return entries.length === 0 ? '-' : entries.map(([alias, version]) => `${alias} → ${version}`).join(', ');
}

export function indent(text: string, by = '  '): string {
  return text
    .split('\n')
    .map((line) => (line === '' ? line : by + line))
    .join('\n');
}
