/**
 * Builds real ONNX models for tests, with a tiny protobuf writer that follows onnx.proto field for field,
 * so that onnxruntime can load what it writes. Large tensors are generated lazily while the model is
 * written, so a 50 MB model never exists in memory at once.
 */
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** Bytes produced on demand; `length` must match what `chunks()` yields. */
export interface LazyBytes {
  readonly length: number;
  chunks(): Iterable<Uint8Array>;
}

type Part = Uint8Array | LazyBytes | ProtoWriter;

const COALESCE_BYTES = 64 * 1024;
const encoder = new TextEncoder();

/** A protobuf message under construction. Fields are written in the order they are added. */
export class ProtoWriter {
  private readonly parts: Part[] = [];
  private size = 0;

  get length(): number {
    return this.size;
  }

  varint(field: number, value: number | bigint): this {
    this.tag(field, 0);
    this.raw(encodeVarint(value));
    return this;
  }

  float(field: number, value: number): this {
    this.tag(field, 5);
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setFloat32(0, value, true);
    this.raw(bytes);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, encoder.encode(value));
  }

  bytes(field: number, value: Uint8Array | LazyBytes): this {
    this.tag(field, 2);
    this.raw(encodeVarint(value.length));
    this.parts.push(value);
    this.size += value.length;
    return this;
  }

  message(field: number, value: ProtoWriter): this {
    this.tag(field, 2);
    this.raw(encodeVarint(value.length));
    // Kept as a subtree, not copied: deep or wide models stay linear to build.
    this.parts.push(value);
    this.size += value.length;
    return this;
  }

  /** The encoded message in chunks of about 64 KiB; lazy parts are generated as they are reached. */
  *chunks(): Generator<Uint8Array> {
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    const flush = function* (): Generator<Uint8Array> {
      if (pendingBytes > 0) yield concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
    };
    // An explicit stack rather than recursion: a type nested thousands deep must not overflow.
    const stack: Array<{ parts: Part[]; next: number }> = [{ parts: this.parts, next: 0 }];
    while (stack.length > 0) {
      const top = stack[stack.length - 1] as { parts: Part[]; next: number };
      const part = top.parts[top.next++];
      if (part === undefined) {
        stack.pop();
      } else if (part instanceof ProtoWriter) {
        stack.push({ parts: part.parts, next: 0 });
      } else if (part instanceof Uint8Array) {
        pending.push(part);
        pendingBytes += part.length;
        if (pendingBytes >= COALESCE_BYTES) yield* flush();
      } else {
        yield* flush();
        yield* part.chunks();
      }
    }
    yield* flush();
  }

  toBytes(): Uint8Array {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const chunk of this.chunks()) {
      out.set(chunk, at);
      at += chunk.length;
    }
    return out;
  }

  private tag(field: number, wireType: number): void {
    this.raw(encodeVarint(field * 8 + wireType));
  }

  private raw(bytes: Uint8Array): void {
    this.parts.push(bytes);
    this.size += bytes.length;
  }
}

/** Protobuf varint; negative numbers as 64-bit two's complement (10 bytes), as int64 fields require. */
export function encodeVarint(value: number | bigint): Uint8Array {
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  do {
    const low = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v > 0n ? low | 0x80 : low);
  } while (v > 0n);
  return Uint8Array.from(out);
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0] as Uint8Array;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// ---- ONNX messages (field numbers from onnx.proto) ----

/** TensorProto.DataType codes by numpy-style name. */
export const ELEM_TYPE = {
  float32: 1,
  uint8: 2,
  int8: 3,
  uint16: 4,
  int16: 5,
  int32: 6,
  int64: 7,
  string: 8,
  bool: 9,
  float16: 10,
  float64: 11,
  uint32: 12,
  uint64: 13,
  complex64: 14,
  bfloat16: 16,
} as const;
export type ElemTypeName = keyof typeof ELEM_TYPE;

/** A dimension: fixed size, symbolic name (dim_param), or null for unknown. */
export type DimSpec = number | string | null;

/** An ONNX TypeProto; a tensor without `shape` has unknown rank. */
export type OnnxTypeSpec =
  | { tensor: ElemTypeName; shape?: DimSpec[] }
  | { sparseTensor: ElemTypeName; shape?: DimSpec[] }
  | { sequence: OnnxTypeSpec }
  | { map: { key: ElemTypeName; value: OnnxTypeSpec } }
  | { optional: OnnxTypeSpec };

export interface ValueSpec {
  name: string;
  /** Omitted: a ValueInfoProto without a type. */
  type?: OnnxTypeSpec;
}

export interface InitializerSpec {
  name: string;
  dtype: ElemTypeName;
  dims: number[];
  rawData: Uint8Array | LazyBytes;
}

export type AttributeSpec =
  | { name: string; int: number }
  | { name: string; float: number }
  | { name: string; string: string }
  | { name: string; ints: number[] }
  | { name: string; strings: string[] };

export interface NodeSpec {
  opType: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  domain?: string;
  attributes?: AttributeSpec[];
}

export interface ModelSpec {
  irVersion: number;
  opsets: Array<{ domain: string; version: number }>;
  producerName?: string;
  producerVersion?: string;
  domain?: string;
  modelVersion?: number;
  docString?: string;
  metadata?: Record<string, string>;
  graph: {
    name: string;
    nodes: NodeSpec[];
    initializers?: InitializerSpec[];
    inputs: ValueSpec[];
    outputs: ValueSpec[];
    docString?: string;
  };
}

export interface EncodedModel {
  sizeBytes: number;
  chunks(): Iterable<Uint8Array>;
  bytes(): Uint8Array;
}

/** ModelProto, fields in field-number order like protobuf's own serializers. */
export function encodeModel(spec: ModelSpec): EncodedModel {
  const model = new ProtoWriter().varint(1, spec.irVersion);
  if (spec.producerName !== undefined) model.string(2, spec.producerName);
  if (spec.producerVersion !== undefined) model.string(3, spec.producerVersion);
  if (spec.domain !== undefined) model.string(4, spec.domain);
  if (spec.modelVersion !== undefined) model.varint(5, spec.modelVersion);
  if (spec.docString !== undefined) model.string(6, spec.docString);
  model.message(7, encodeGraph(spec.graph));
  for (const opset of spec.opsets) {
    const id = new ProtoWriter();
    if (opset.domain !== '') id.string(1, opset.domain);
    model.message(8, id.varint(2, opset.version));
  }
  for (const [key, value] of Object.entries(spec.metadata ?? {})) {
    model.message(14, new ProtoWriter().string(1, key).string(2, value));
  }
  return { sizeBytes: model.length, chunks: () => model.chunks(), bytes: () => model.toBytes() };
}

function encodeGraph(graph: ModelSpec['graph']): ProtoWriter {
  const out = new ProtoWriter();
  for (const node of graph.nodes) out.message(1, encodeNode(node));
  out.string(2, graph.name);
  for (const init of graph.initializers ?? []) out.message(5, encodeInitializer(init));
  if (graph.docString !== undefined) out.string(10, graph.docString);
  for (const input of graph.inputs) out.message(11, encodeValueInfo(input));
  for (const output of graph.outputs) out.message(12, encodeValueInfo(output));
  return out;
}

function encodeNode(node: NodeSpec): ProtoWriter {
  const out = new ProtoWriter();
  for (const input of node.inputs) out.string(1, input);
  for (const output of node.outputs) out.string(2, output);
  if (node.name !== undefined) out.string(3, node.name);
  out.string(4, node.opType);
  for (const attribute of node.attributes ?? []) out.message(5, encodeAttribute(attribute));
  if (node.domain !== undefined) out.string(7, node.domain);
  return out;
}

/** AttributeProto: name (1), f (2), i (3), s (4), ints (8), strings (9), type (20). */
function encodeAttribute(attribute: AttributeSpec): ProtoWriter {
  const out = new ProtoWriter().string(1, attribute.name);
  if ('float' in attribute) return out.float(2, attribute.float).varint(20, 1);
  if ('int' in attribute) return out.varint(3, attribute.int).varint(20, 2);
  if ('string' in attribute) return out.string(4, attribute.string).varint(20, 3);
  if ('ints' in attribute) {
    // proto2 `repeated int64 ints = 8` is unpacked: one tag per value.
    for (const value of attribute.ints) out.varint(8, value);
    return out.varint(20, 7);
  }
  for (const value of attribute.strings) out.string(9, value);
  return out.varint(20, 8);
}

/** TensorProto: dims (1, unpacked), data_type (2), name (8), raw_data (9). */
function encodeInitializer(init: InitializerSpec): ProtoWriter {
  const out = new ProtoWriter();
  for (const dim of init.dims) out.varint(1, dim);
  return out.varint(2, ELEM_TYPE[init.dtype]).string(8, init.name).bytes(9, init.rawData);
}

function encodeValueInfo(value: ValueSpec): ProtoWriter {
  const out = new ProtoWriter().string(1, value.name);
  if (value.type !== undefined) out.message(2, encodeType(value.type));
  return out;
}

function encodeType(type: OnnxTypeSpec): ProtoWriter {
  const out = new ProtoWriter();
  if ('tensor' in type) return out.message(1, encodeTensorType(type.tensor, type.shape));
  if ('sparseTensor' in type) return out.message(8, encodeTensorType(type.sparseTensor, type.shape));
  if ('sequence' in type) return out.message(4, new ProtoWriter().message(1, encodeType(type.sequence)));
  if ('optional' in type) return out.message(9, new ProtoWriter().message(1, encodeType(type.optional)));
  const map = new ProtoWriter().varint(1, ELEM_TYPE[type.map.key]).message(2, encodeType(type.map.value));
  return out.message(5, map);
}

function encodeTensorType(elem: ElemTypeName, shape: DimSpec[] | undefined): ProtoWriter {
  const out = new ProtoWriter().varint(1, ELEM_TYPE[elem]);
  if (shape === undefined) return out;
  const shapeProto = new ProtoWriter();
  for (const dim of shape) {
    const d = new ProtoWriter();
    if (typeof dim === 'number') d.varint(1, dim);
    else if (typeof dim === 'string') d.string(2, dim);
    shapeProto.message(1, d);
  }
  return out.message(2, shapeProto);
}

// ---- tensor data ----

export type NumericElemType = 'float32' | 'float64' | 'int32' | 'int64';

const ELEMENT_BYTES: Record<NumericElemType, number> = { float32: 4, float64: 8, int32: 4, int64: 8 };

/** Little-endian raw_data for `count` elements, generated in blocks as it is written. */
export function tensorData(dtype: NumericElemType, count: number, valueAt: (k: number) => number): LazyBytes {
  const size = ELEMENT_BYTES[dtype];
  const perBlock = Math.floor(COALESCE_BYTES / size);
  return {
    length: count * size,
    *chunks() {
      for (let start = 0; start < count; start += perBlock) {
        const n = Math.min(perBlock, count - start);
        const block = new Uint8Array(n * size);
        const view = new DataView(block.buffer);
        for (let k = 0; k < n; k++) {
          const v = valueAt(start + k);
          if (dtype === 'float32') view.setFloat32(k * 4, v, true);
          else if (dtype === 'float64') view.setFloat64(k * 8, v, true);
          else if (dtype === 'int32') view.setInt32(k * 4, v, true);
          else view.setBigInt64(k * 8, BigInt(v), true);
        }
        yield block;
      }
    },
  };
}

// ---- the linear model ----

export interface ExtraInput {
  name: string;
  type: OnnxTypeSpec;
  /** Also expose it as a graph output of this name, through an Identity node. */
  echoAs?: string;
}

export interface LinearModelOptions {
  /** Features (columns of X). Default 4. */
  inputs?: number;
  /** Columns of Y. Default 3. */
  outputs?: number;
  /** The batch dimension of X and Y: a size, a symbolic name, or null for unknown. Default 'N'. */
  batch?: DimSpec;
  dtype?: NumericElemType;
  inputName?: string;
  outputName?: string;
  /** 8 by default; 3 lists the initializers W and B as graph inputs too, as IR < 4 required. */
  irVersion?: number;
  /** Default 17, or 7 for IR 3. */
  opset?: number;
  producerName?: string;
  producerVersion?: string;
  graphName?: string;
  docString?: string;
  metadata?: Record<string, string>;
  /** Inputs the computation ignores (any type); `echoAs` passes one through to an output. */
  extraInputs?: ExtraInput[];
  /** Adds skl2onnx's ZipMap (ai.onnx.ml) over Y: an output of type seq(map(int64|string, tensor(float))). */
  zipMap?: { labels: number[] | string[]; outputName?: string };
}

/** W[i][j]: small integers, so that every dtype computes the same exact results. */
export const linearWeight = (i: number, j: number): number => ((i + 2 * j) % 5) - 2;
/** B[j]. */
export const linearBias = (j: number): number => (j % 3) - 1;

/** What the linear model computes: Y = X·W + B. */
export function evaluateLinearModel(x: number[][], outputs = 3): number[][] {
  return x.map((row) =>
    Array.from({ length: outputs }, (_, j) =>
      row.reduce((sum, value, i) => sum + value * linearWeight(i, j), linearBias(j)),
    ),
  );
}

/**
 * X [batch, inputs] → MatMul with initializer W [inputs, outputs] → Add initializer B [outputs] → Y
 * [batch, outputs]. With inputs 1024 and outputs 12800, W is 50 MiB of raw_data.
 */
export function linearModelSpec(options: LinearModelOptions = {}): ModelSpec {
  const n = options.inputs ?? 4;
  const m = options.outputs ?? 3;
  const batch = options.batch === undefined ? 'N' : options.batch;
  const dtype = options.dtype ?? 'float32';
  const x = options.inputName ?? 'X';
  const y = options.outputName ?? 'Y';
  const irVersion = options.irVersion ?? 8;
  const opsets = [{ domain: '', version: options.opset ?? (irVersion < 4 ? 7 : 17) }];
  const weights: InitializerSpec[] = [
    {
      name: 'W',
      dtype,
      dims: [n, m],
      rawData: tensorData(dtype, n * m, (k) => linearWeight(Math.floor(k / m), k % m)),
    },
    { name: 'B', dtype, dims: [m], rawData: tensorData(dtype, m, linearBias) },
  ];
  const nodes: NodeSpec[] = [
    { opType: 'MatMul', inputs: [x, 'W'], outputs: ['XW'], name: 'matmul' },
    { opType: 'Add', inputs: ['XW', 'B'], outputs: [y], name: 'add' },
  ];
  const inputs: ValueSpec[] = [{ name: x, type: { tensor: dtype, shape: [batch, n] } }];
  if (irVersion < 4) {
    inputs.push(
      { name: 'W', type: { tensor: dtype, shape: [n, m] } },
      { name: 'B', type: { tensor: dtype, shape: [m] } },
    );
  }
  const outputs: ValueSpec[] = [{ name: y, type: { tensor: dtype, shape: [batch, m] } }];
  for (const extra of options.extraInputs ?? []) {
    inputs.push({ name: extra.name, type: extra.type });
    if (extra.echoAs === undefined) continue;
    nodes.push({
      opType: 'Identity',
      inputs: [extra.name],
      outputs: [extra.echoAs],
      name: `echo_${extra.name}`,
    });
    outputs.push({ name: extra.echoAs, type: extra.type });
  }
  if (options.zipMap !== undefined) {
    if (dtype !== 'float32') throw new Error('ZipMap takes a float32 tensor');
    const { labels } = options.zipMap;
    if (labels.length !== m) throw new Error(`ZipMap needs ${m} labels, got ${labels.length}`);
    const strings = labels.every((l) => typeof l === 'string');
    const name = options.zipMap.outputName ?? 'output_probability';
    nodes.push({
      opType: 'ZipMap',
      domain: 'ai.onnx.ml',
      inputs: [y],
      outputs: [name],
      name: 'zipmap',
      attributes: [
        strings
          ? { name: 'classlabels_strings', strings: labels as string[] }
          : { name: 'classlabels_int64s', ints: labels as number[] },
      ],
    });
    opsets.push({ domain: 'ai.onnx.ml', version: 1 });
    outputs.push({
      name,
      type: { sequence: { map: { key: strings ? 'string' : 'int64', value: { tensor: 'float32' } } } },
    });
  }
  return {
    irVersion,
    opsets,
    producerName: options.producerName ?? 'cairn-test',
    producerVersion: options.producerVersion ?? '1.0',
    ...(options.docString === undefined ? {} : { docString: options.docString }),
    ...(options.metadata === undefined ? {} : { metadata: options.metadata }),
    graph: { name: options.graphName ?? 'cairn_linear', nodes, initializers: weights, inputs, outputs },
  };
}

export function linearModel(options: LinearModelOptions = {}): EncodedModel {
  return encodeModel(linearModelSpec(options));
}

export function buildLinearModel(options: LinearModelOptions = {}): Uint8Array {
  return linearModel(options).bytes();
}

/** Streams the model to a file without holding it in memory. */
export async function writeModelFile(path: string, model: EncodedModel): Promise<void> {
  await pipeline(Readable.from(model.chunks()), createWriteStream(path));
}

/** Streams `bytes` in chunks of `chunkSize` (or of sizes from `sizes`, cycled), as a blob store would. */
export async function* streamBytes(
  bytes: Uint8Array,
  chunkSize: number | number[] = 64 * 1024,
): AsyncGenerator<Uint8Array> {
  const sizes = typeof chunkSize === 'number' ? [chunkSize] : chunkSize;
  let at = 0;
  for (let i = 0; at < bytes.length; i++) {
    const size = Math.max(1, sizes[i % sizes.length] ?? 1);
    yield bytes.subarray(at, at + size);
    at += size;
  }
}

// ---- small networks with seeded weights: an MLP classifier and a logistic regression ----

/** mulberry32: a tiny deterministic generator of floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One dense layer: weights [inputs][outputs] row-major and bias [outputs], float32-exact values. */
export interface DenseLayer {
  inputs: number;
  outputs: number;
  weights: Float32Array;
  bias: Float32Array;
}

/** Layers of uniform weights scaled by 1/√fan-in (so activations neither vanish nor explode). */
export function seededLayers(sizes: readonly number[], seed: number): DenseLayer[] {
  const random = seededRandom(seed);
  const layers: DenseLayer[] = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const inputs = sizes[l] as number;
    const outputs = sizes[l + 1] as number;
    const scale = 1 / Math.sqrt(inputs);
    const weights = Float32Array.from({ length: inputs * outputs }, () => (random() * 2 - 1) * scale);
    const bias = Float32Array.from({ length: outputs }, () => (random() * 2 - 1) * 0.1);
    layers.push({ inputs, outputs, weights, bias });
  }
  return layers;
}

function float32Bytes(values: Float32Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

function dense(row: readonly number[], layer: DenseLayer): number[] {
  return Array.from({ length: layer.outputs }, (_, j) => {
    let sum = layer.bias[j] as number;
    for (let i = 0; i < layer.inputs; i++)
      sum += (row[i] as number) * (layer.weights[i * layer.outputs + j] as number);
    return sum;
  });
}

export interface MlpModelOptions {
  /** Features of the input. Default 20. */
  inputs?: number;
  /** Widths of the hidden layers, each Gemm + Relu. Default [64, 64]. */
  hidden?: number[];
  /** Classes of the softmax output. Default 2. */
  outputs?: number;
  seed?: number;
}

const mlpSizes = (options: MlpModelOptions): number[] => [
  options.inputs ?? 20,
  ...(options.hidden ?? [64, 64]),
  options.outputs ?? 2,
];

/**
 * `input` [N, inputs] FP32 → (Gemm → Relu) per hidden layer → Gemm → Softmax → `probabilities` [N, outputs].
 * The weights come from `seed` (default 1); `evaluateMlp` computes the same in plain JS.
 */
export function mlpModelSpec(options: MlpModelOptions = {}): ModelSpec {
  const sizes = mlpSizes(options);
  const layers = seededLayers(sizes, options.seed ?? 1);
  const nodes: NodeSpec[] = [];
  const initializers: InitializerSpec[] = [];
  let previous = 'input';
  layers.forEach((layer, l) => {
    const last = l === layers.length - 1;
    initializers.push(
      {
        name: `W${l}`,
        dtype: 'float32',
        dims: [layer.inputs, layer.outputs],
        rawData: float32Bytes(layer.weights),
      },
      { name: `B${l}`, dtype: 'float32', dims: [layer.outputs], rawData: float32Bytes(layer.bias) },
    );
    const gemm = last ? 'logits' : `gemm${l}`;
    nodes.push({ opType: 'Gemm', inputs: [previous, `W${l}`, `B${l}`], outputs: [gemm], name: `gemm${l}` });
    if (last) return;
    nodes.push({ opType: 'Relu', inputs: [gemm], outputs: [`relu${l}`], name: `relu${l}` });
    previous = `relu${l}`;
  });
  nodes.push({
    opType: 'Softmax',
    inputs: ['logits'],
    outputs: ['probabilities'],
    name: 'softmax',
    attributes: [{ name: 'axis', int: -1 }],
  });
  return {
    irVersion: 8,
    opsets: [{ domain: '', version: 17 }],
    producerName: 'cairn-test',
    producerVersion: '1.0',
    graph: {
      name: 'cairn_mlp',
      nodes,
      initializers,
      inputs: [{ name: 'input', type: { tensor: 'float32', shape: ['N', sizes[0] as number] } }],
      outputs: [
        {
          name: 'probabilities',
          type: { tensor: 'float32', shape: ['N', sizes[sizes.length - 1] as number] },
        },
      ],
    },
  };
}

export function mlpModel(options: MlpModelOptions = {}): EncodedModel {
  return encodeModel(mlpModelSpec(options));
}

/** What `mlpModel(options)` computes, in double precision over the same float32 weights. */
export function evaluateMlp(x: readonly (readonly number[])[], options: MlpModelOptions = {}): number[][] {
  const layers = seededLayers(mlpSizes(options), options.seed ?? 1);
  return x.map((row) => {
    let values = [...row];
    layers.forEach((layer, l) => {
      values = dense(values, layer);
      if (l < layers.length - 1) values = values.map((v) => Math.max(0, v));
    });
    const max = Math.max(...values);
    const exps = values.map((v) => Math.exp(v - max));
    const total = exps.reduce((a, b) => a + b, 0);
    return exps.map((e) => e / total);
  });
}

export interface LogisticModelOptions {
  /** Features of the input. Default 20. */
  features?: number;
  seed?: number;
}

/** `features` [N, features] FP32 → MatMul → Add → Sigmoid → `probability` [N, 1]; weights from `seed` (default 1). */
export function logisticModelSpec(options: LogisticModelOptions = {}): ModelSpec {
  const features = options.features ?? 20;
  const [layer] = seededLayers([features, 1], options.seed ?? 1) as [DenseLayer];
  return {
    irVersion: 8,
    opsets: [{ domain: '', version: 17 }],
    producerName: 'cairn-test',
    producerVersion: '1.0',
    graph: {
      name: 'cairn_logistic',
      nodes: [
        { opType: 'MatMul', inputs: ['features', 'W'], outputs: ['XW'], name: 'matmul' },
        { opType: 'Add', inputs: ['XW', 'B'], outputs: ['logit'], name: 'add' },
        { opType: 'Sigmoid', inputs: ['logit'], outputs: ['probability'], name: 'sigmoid' },
      ],
      initializers: [
        { name: 'W', dtype: 'float32', dims: [features, 1], rawData: float32Bytes(layer.weights) },
        { name: 'B', dtype: 'float32', dims: [1], rawData: float32Bytes(layer.bias) },
      ],
      inputs: [{ name: 'features', type: { tensor: 'float32', shape: ['N', features] } }],
      outputs: [{ name: 'probability', type: { tensor: 'float32', shape: ['N', 1] } }],
    },
  };
}

export function logisticModel(options: LogisticModelOptions = {}): EncodedModel {
  return encodeModel(logisticModelSpec(options));
}

/** What `logisticModel(options)` computes: one probability per row. */
export function evaluateLogistic(
  x: readonly (readonly number[])[],
  options: LogisticModelOptions = {},
): number[][] {
  const [layer] = seededLayers([options.features ?? 20, 1], options.seed ?? 1) as [DenseLayer];
  return x.map((row) => [1 / (1 + Math.exp(-(dense(row, layer)[0] as number)))]);
}

/** One input of `identityModel`, passed through unchanged to the output `<name>_out`. */
export interface PassThroughSpec {
  name: string;
  dtype: ElemTypeName;
  shape: DimSpec[];
  /** Cast to this type on the way out instead of passing through. */
  castTo?: ElemTypeName;
}

/** Identity (or Cast) per input: for checking datatypes, shapes and batching on any kind of tensor. */
export function identityModel(values: readonly PassThroughSpec[]): EncodedModel {
  return encodeModel({
    irVersion: 8,
    opsets: [{ domain: '', version: 17 }],
    producerName: 'cairn-test',
    graph: {
      name: 'cairn_identity',
      nodes: values.map((v) =>
        v.castTo === undefined
          ? { opType: 'Identity', inputs: [v.name], outputs: [`${v.name}_out`], name: `identity_${v.name}` }
          : {
              opType: 'Cast',
              inputs: [v.name],
              outputs: [`${v.name}_out`],
              name: `cast_${v.name}`,
              attributes: [{ name: 'to', int: ELEM_TYPE[v.castTo] }],
            },
      ),
      inputs: values.map((v) => ({ name: v.name, type: { tensor: v.dtype, shape: v.shape } })),
      outputs: values.map((v) => ({
        name: `${v.name}_out`,
        type: { tensor: v.castTo ?? v.dtype, shape: v.shape },
      })),
    },
  });
}
