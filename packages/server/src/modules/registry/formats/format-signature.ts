import type { ModelSignature, SignatureField } from '../entities.js';
import { UNKNOWN_DATATYPE } from './onnx-types.js';

/**
 * Readable lines for the CLI, columns aligned:
 * `input   X  FP32  [N, 4]`, `output  label  seq(map(int64,tensor(float)))`, `param   temperature  float  default 0.5`.
 */
export function formatSignature(signature: ModelSignature): string[] {
  const rows: string[][] = [
    ...signature.inputs.map((f) => fieldRow('input', f)),
    ...signature.outputs.map((f) => fieldRow('output', f)),
    ...(signature.params ?? []).map((p) => [
      'param',
      String(p['name']),
      String(p['type']),
      [
        Array.isArray(p['shape']) ? formatShape(p['shape'] as number[]) : '',
        p['default'] === undefined ? '' : `default ${JSON.stringify(p['default'])}`,
      ]
        .filter((s) => s !== '')
        .join('  '),
    ]),
  ];
  const widths = rows.reduce<number[]>(
    (w, row) => row.map((cell, i) => Math.max(w[i] ?? 0, cell.length)),
    [],
  );
  return rows.map((row) =>
    row
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd(),
  );
}

function fieldRow(direction: string, field: SignatureField): string[] {
  // A sequence or map has no v2 datatype; its ONNX type says what it is.
  const type = field.type === UNKNOWN_DATATYPE && field.onnxType !== undefined ? field.onnxType : field.type;
  const extra = [
    field.shape === undefined ? '' : formatShape(field.shape, field.dimNames),
    field.required === false ? 'optional' : '',
  ]
    .filter((s) => s !== '')
    .join('  ');
  return [direction, field.name ?? '-', type, extra];
}

/** `[N, 4]`: symbolic names where the model gives them, `?` for other dynamic dimensions. */
function formatShape(shape: number[], dimNames?: Array<string | null>): string {
  const dims = shape.map((d, i) => dimNames?.[i] ?? (d < 0 ? '?' : String(d)));
  return `[${dims.join(', ')}]`;
}
