import { ModelFormatError } from './model-format-error.js';
import { OnnxFieldReader } from './onnx-field-reader.js';
import { ONNX_LIMITS, type OnnxLimits } from './onnx-limits.js';
import { UNKNOWN_TYPE, readValueType } from './onnx-type-reader.js';
import { ProtobufStreamReader } from './protobuf-stream.js';

/** One graph input or output. */
export interface TensorSpec {
  name: string;
  /**
   * Open Inference Protocol datatype (BOOL, UINT8…UINT64, INT8…INT64, FP16, FP32, FP64, BYTES, BF16).
   * `UNKNOWN` for sequences, maps, sparse tensors and element types v2 has no name for; an
   * `optional(tensor(T))` carries the datatype and shape of its tensor.
   */
  datatype: string;
  /** -1 for a dynamic dimension; null when the rank is unknown (no shape recorded) or not a tensor. */
  shape: number[] | null;
  /** Symbolic dimension names (`dim_param`), null for fixed or unnamed dims; absent when none is named. */
  dimNames?: Array<string | null>;
  /** The ONNX type as onnxruntime prints it: `tensor(float)`, `seq(map(int64,tensor(float)))`. */
  onnxType: string;
}

export interface OnnxOpset {
  /** '' is the default `ai.onnx` domain. */
  domain: string;
  version: number;
}

export interface OnnxInfo {
  irVersion: number;
  producerName: string;
  producerVersion: string;
  domain: string;
  modelVersion: number;
  graphName: string;
  opsets: OnnxOpset[];
  /** Graph inputs that are not initializers (IR < 4 models list their weights as inputs). */
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  metadata: Record<string, string>;
  /** Truncated to `maxDocStringBytes`. */
  docString: string;
}

export interface ReadOnnxOptions {
  /** The file's size when known: lengths past it are refused at once instead of at the end of the stream. */
  sizeBytes?: number;
  limits?: Partial<OnnxLimits>;
}

// Field numbers from onnx.proto.
const MODEL = { irVersion: 1, producerName: 2, producerVersion: 3, domain: 4, modelVersion: 5, docString: 6 };
const MODEL_GRAPH = 7;
const MODEL_OPSET_IMPORT = 8;
const MODEL_METADATA_PROPS = 14;
const GRAPH = { name: 2, initializer: 5, sparseInitializer: 15, input: 11, output: 12 };

/**
 * Reads the signature and metadata of an ONNX ModelProto from a byte stream. Only the fields named in
 * OnnxInfo are decoded; nodes, value_info, weights and everything else are skipped as they stream past,
 * so memory stays bounded by `limits` whatever the model's size. Bad bytes throw ModelFormatError.
 */
export async function readOnnxInfo(
  source: AsyncIterable<Uint8Array>,
  options: ReadOnnxOptions = {},
): Promise<OnnxInfo> {
  const reader = new ProtobufStreamReader(source);
  try {
    const fields = new OnnxFieldReader(reader, { ...ONNX_LIMITS, ...options.limits });
    return await new OnnxReader(fields).readModel(options.sizeBytes ?? Infinity);
  } finally {
    await reader.close();
  }
}

class OnnxReader {
  private valueCount = 0;
  private readonly initializers = new Set<string>();

  constructor(private readonly f: OnnxFieldReader) {}

  async readModel(end: number): Promise<OnnxInfo> {
    const info: OnnxInfo = {
      irVersion: 0,
      producerName: '',
      producerVersion: '',
      domain: '',
      modelVersion: 0,
      graphName: '',
      opsets: [],
      inputs: [],
      outputs: [],
      metadata: {},
      docString: '',
    };
    const metadata = new Map<string, string>();
    let sawGraph = false;
    await this.f.fields(end, async (tag) => {
      switch (tag.field) {
        case MODEL.irVersion:
          info.irVersion = await this.f.int64(tag, end, 'ModelProto.ir_version');
          return true;
        case MODEL.producerName:
          info.producerName = await this.f.text(tag, end, 'ModelProto.producer_name');
          return true;
        case MODEL.producerVersion:
          info.producerVersion = await this.f.text(tag, end, 'ModelProto.producer_version');
          return true;
        case MODEL.domain:
          info.domain = await this.f.text(tag, end, 'ModelProto.domain');
          return true;
        case MODEL.modelVersion:
          info.modelVersion = await this.f.int64(tag, end, 'ModelProto.model_version');
          return true;
        case MODEL.docString:
          info.docString = await this.f.text(tag, end, {
            what: 'ModelProto.doc_string',
            maxBytes: this.f.limits.maxDocStringBytes,
          });
          return true;
        case MODEL_GRAPH:
          sawGraph = true;
          await this.readGraph(await this.f.messageEnd(tag, end, 'ModelProto.graph'), info);
          return true;
        case MODEL_OPSET_IMPORT:
          if (info.opsets.length >= this.f.limits.maxOpsets) {
            throw new ModelFormatError(`more than ${this.f.limits.maxOpsets} opset imports`, tag.offset);
          }
          info.opsets.push(
            await this.readOpset(await this.f.messageEnd(tag, end, 'ModelProto.opset_import')),
          );
          return true;
        case MODEL_METADATA_PROPS: {
          if (metadata.size >= this.f.limits.maxMetadataEntries) return false;
          const [key, value] = await this.readEntry(
            await this.f.messageEnd(tag, end, 'ModelProto.metadata_props'),
          );
          metadata.set(key, value);
          return true;
        }
        default:
          return false;
      }
    });
    if (this.f.offset === 0) throw new ModelFormatError('not an ONNX model: the file is empty');
    if (!sawGraph) throw new ModelFormatError('not an ONNX model: no graph (ModelProto field 7)');
    if (info.irVersion === 0) throw new ModelFormatError('not an ONNX model: ir_version is missing');
    if (info.irVersion < 0)
      throw new ModelFormatError(`not an ONNX model: ir_version ${info.irVersion} is negative`);
    info.inputs = info.inputs.filter((input) => !this.initializers.has(input.name));
    // fromEntries defines own properties, so a key like "__proto__" stays data.
    info.metadata = Object.fromEntries(metadata);
    return info;
  }

  private async readGraph(end: number, info: OnnxInfo): Promise<void> {
    await this.f.fields(end, async (tag) => {
      switch (tag.field) {
        case GRAPH.name:
          info.graphName = await this.f.name(tag, end, 'GraphProto.name');
          return true;
        case GRAPH.initializer:
          this.addInitializer(
            await this.readTensorName(await this.f.messageEnd(tag, end, 'GraphProto.initializer')),
          );
          return true;
        case GRAPH.sparseInitializer:
          this.addInitializer(
            await this.readSparseTensorName(
              await this.f.messageEnd(tag, end, 'GraphProto.sparse_initializer'),
            ),
          );
          return true;
        case GRAPH.input:
        case GRAPH.output: {
          const what = tag.field === GRAPH.input ? 'GraphProto.input' : 'GraphProto.output';
          if (++this.valueCount > this.f.limits.maxValues) {
            throw new ModelFormatError(
              `more than ${this.f.limits.maxValues} graph inputs and outputs`,
              tag.offset,
            );
          }
          const spec = await this.readValueInfo(await this.f.messageEnd(tag, end, what));
          (tag.field === GRAPH.input ? info.inputs : info.outputs).push(spec);
          return true;
        }
        default:
          return false;
      }
    });
  }

  private addInitializer(name: string): void {
    if (this.initializers.size >= this.f.limits.maxInitializers) {
      throw new ModelFormatError(`more than ${this.f.limits.maxInitializers} initializers`, this.f.offset);
    }
    this.f.retain(name.length * 2 + 32);
    this.initializers.add(name);
  }

  /** TensorProto: only `name` (8); dims and data (raw_data, float_data…) stream past unread. */
  private async readTensorName(end: number): Promise<string> {
    let name = '';
    await this.f.fields(end, async (tag) => {
      if (tag.field !== 8) return false;
      name = await this.f.name(tag, end, 'TensorProto.name');
      return true;
    });
    return name;
  }

  /** SparseTensorProto: the name is that of its `values` tensor (1). */
  private async readSparseTensorName(end: number): Promise<string> {
    let name = '';
    await this.f.fields(end, async (tag) => {
      if (tag.field !== 1) return false;
      name = await this.readTensorName(await this.f.messageEnd(tag, end, 'SparseTensorProto.values'));
      return true;
    });
    return name;
  }

  private async readValueInfo(end: number): Promise<TensorSpec> {
    let name = '';
    let type = UNKNOWN_TYPE;
    await this.f.fields(end, async (tag) => {
      if (tag.field === 1) name = await this.f.name(tag, end, 'ValueInfoProto.name');
      else if (tag.field === 2)
        type = await readValueType(this.f, await this.f.messageEnd(tag, end, 'ValueInfoProto.type'), 1);
      else return false;
      return true;
    });
    this.f.retain(64);
    return {
      name,
      datatype: type.datatype,
      shape: type.shape,
      ...(type.dimNames === undefined ? {} : { dimNames: type.dimNames }),
      onnxType: type.text,
    };
  }

  private async readOpset(end: number): Promise<OnnxOpset> {
    const opset: OnnxOpset = { domain: '', version: 0 };
    await this.f.fields(end, async (tag) => {
      if (tag.field === 1) opset.domain = await this.f.name(tag, end, 'OperatorSetIdProto.domain');
      else if (tag.field === 2) opset.version = await this.f.int64(tag, end, 'OperatorSetIdProto.version');
      else return false;
      return true;
    });
    return opset;
  }

  /** StringStringEntryProto: key (1), value (2). */
  private async readEntry(end: number): Promise<[string, string]> {
    const entry: [string, string] = ['', ''];
    await this.f.fields(end, async (tag) => {
      if (tag.field !== 1 && tag.field !== 2) return false;
      entry[tag.field - 1] = await this.f.text(tag, end, 'StringStringEntryProto');
      return true;
    });
    return entry;
  }
}
