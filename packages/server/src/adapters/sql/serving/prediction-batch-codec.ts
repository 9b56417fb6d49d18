import { viewData, type Datatype, type Tensor } from '@cairn/serving';
import type { PredictionDraft } from '../../../modules/serving/index.js';

/**
 * A batch of prediction drafts packed for the log writer thread: the
 * numbers of every tensor copied into one buffer that is transferred (not
 * cloned), and everything else as one JSON text. Structured-cloning the
 * drafts themselves cost ~20 µs per row on the serving thread; this costs a
 * copy of the raw bytes and one JSON.stringify of short fields.
 */
export interface PackedBatch {
  meta: string;
  bytes: ArrayBuffer;
}

/** A tensor in the meta text: numbers by place in `bytes`, strings (BYTES) inline. */
type PackedTensor =
  | [name: string, datatype: Datatype, shape: number[], offset: number, length: number]
  | [string, 'BYTES', number[], string[]];

/**
 * A draft as a flat array, fields in a fixed order: JSON.stringify of arrays is several times cheaper than of
 * objects (no keys), and this runs on the serving thread for every logged request.
 */
type PackedRow = [
  requestId: string,
  kind: PredictionDraft['kind'],
  deploymentId: string,
  revision: number,
  model: string,
  version: number,
  protocol: PredictionDraft['protocol'],
  createdAt: number,
  latencyMs: number,
  status: PredictionDraft['status'],
  error: string | null,
  agreed: boolean | null,
  meanAbsDiff: number | null,
  inputs: PackedTensor[] | null,
  outputs: PackedTensor[],
];

/** Every tensor starts at a multiple of 8 bytes, so any typed array can view it in place. */
const align = (n: number): number => (n + 7) & ~7;

export function packDrafts(drafts: readonly PredictionDraft[]): PackedBatch {
  let size = 0;
  const measure = (tensor: Tensor): void => {
    if (tensor.datatype !== 'BYTES') size = align(size) + (tensor.data as ArrayBufferView).byteLength;
  };
  for (const draft of drafts) {
    draft.inputs?.forEach(measure);
    draft.outputs.forEach(measure);
  }
  const bytes = new ArrayBuffer(align(size));
  const target = new Uint8Array(bytes);
  let at = 0;
  const pack = (tensor: Tensor): PackedTensor => {
    if (tensor.datatype === 'BYTES') return [tensor.name, 'BYTES', tensor.shape, tensor.data as string[]];
    const view = tensor.data as ArrayBufferView;
    at = align(at);
    target.set(new Uint8Array(view.buffer, view.byteOffset, view.byteLength), at);
    const offset = at;
    at += view.byteLength;
    return [
      tensor.name,
      tensor.datatype,
      tensor.shape,
      offset,
      (view as unknown as ArrayLike<unknown>).length,
    ];
  };
  const rows: PackedRow[] = [];
  for (const d of drafts) {
    rows.push([
      d.requestId,
      d.kind,
      d.deploymentId,
      d.revision,
      d.model,
      d.version,
      d.protocol,
      d.createdAt,
      d.latencyMs,
      d.status,
      d.error,
      d.agreed,
      d.meanAbsDiff,
      d.inputs === null ? null : d.inputs.map(pack),
      d.outputs.map(pack),
    ]);
  }
  return { meta: JSON.stringify(rows), bytes };
}

export function unpackDrafts(batch: PackedBatch): PredictionDraft[] {
  const rows = JSON.parse(batch.meta) as PackedRow[];
  const unpack = (packed: PackedTensor): Tensor => {
    if (packed[1] === 'BYTES')
      return { name: packed[0], datatype: 'BYTES', shape: packed[2], data: packed[3] as string[] };
    const [name, datatype, shape, offset, length] = packed as [
      string,
      Exclude<Datatype, 'BYTES'>,
      number[],
      number,
      number,
    ];
    return {
      name,
      datatype,
      shape,
      data: viewData(datatype, { buffer: batch.bytes, offset, length }),
    } as Tensor;
  };
  return rows.map((row) => ({
    requestId: row[0],
    kind: row[1],
    deploymentId: row[2],
    revision: row[3],
    model: row[4],
    version: row[5],
    protocol: row[6],
    createdAt: row[7],
    latencyMs: row[8],
    status: row[9],
    error: row[10],
    agreed: row[11],
    meanAbsDiff: row[12],
    inputs: row[13] === null ? null : row[13].map(unpack),
    outputs: row[14].map(unpack),
  }));
}
