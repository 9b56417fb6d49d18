import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ProtoWriter,
  buildLinearModel,
  encodeVarint,
  encodeModel,
  linearModelSpec,
  streamBytes,
  type LinearModelOptions,
  type ModelSpec,
  type OnnxTypeSpec,
} from '../../../testing/onnx-builder.js';
import { isModelFormatError } from './model-format-error.js';
import { readOnnxInfo, type OnnxInfo, type ReadOnnxOptions, type TensorSpec } from './onnx-signature.js';

const parse = (
  bytes: Uint8Array,
  chunk: number | number[] = 64 * 1024,
  options?: ReadOnnxOptions,
): Promise<OnnxInfo> => readOnnxInfo(streamBytes(bytes, chunk), options);

async function formatError(bytes: Uint8Array, options?: ReadOnnxOptions): Promise<string> {
  const error = await parse(bytes, 7, options).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isModelFormatError(error), `expected a ModelFormatError, got ${String(error)}`).toBe(true);
  return (error as Error).message;
}

/** Parses or throws ModelFormatError; anything else fails the property. */
async function parseOrFormatError(bytes: Uint8Array, chunk: number[]): Promise<void> {
  try {
    await parse(bytes, chunk);
  } catch (error) {
    if (!isModelFormatError(error)) throw error;
  }
}

const tensor = (name: string, datatype: string, shape: number[] | null, onnxType: string): TensorSpec => ({
  name,
  datatype,
  shape,
  onnxType,
});

const extras = (...types: Array<[string, OnnxTypeSpec]>): LinearModelOptions => ({
  extraInputs: types.map(([name, type]) => ({ name, type })),
});

/** A model exercising every type the reader describes. */
const RICH: LinearModelOptions = {
  zipMap: { labels: [0, 1, 2] },
  // A key named __proto__ must stay data, never become a prototype.
  metadata: Object.fromEntries([
    ['author', 'cairn'],
    ['__proto__', 'data'],
  ]) as Record<string, string>,
  docString: 'A linear model',
  extraInputs: [
    { name: 'ids', type: { tensor: 'int64', shape: ['N'] }, echoAs: 'ids_out' },
    { name: 'label', type: { tensor: 'string', shape: ['N', 1] } },
    { name: 'opt', type: { optional: { tensor: 'float32', shape: [2] } } },
  ],
};

describe('readOnnxInfo on valid models', () => {
  it('reads the linear model: metadata, opsets, a symbolic batch dimension', async () => {
    const info = await parse(buildLinearModel({ metadata: { author: 'cairn' }, docString: 'doc' }));
    expect(info).toEqual({
      irVersion: 8,
      producerName: 'cairn-test',
      producerVersion: '1.0',
      domain: '',
      modelVersion: 0,
      graphName: 'cairn_linear',
      opsets: [{ domain: '', version: 17 }],
      inputs: [{ ...tensor('X', 'FP32', [-1, 4], 'tensor(float)'), dimNames: ['N', null] }],
      outputs: [{ ...tensor('Y', 'FP32', [-1, 3], 'tensor(float)'), dimNames: ['N', null] }],
      metadata: { author: 'cairn' },
      docString: 'doc',
    });
  });

  it.each<[string, LinearModelOptions, TensorSpec[]]>([
    ['a fixed batch', { batch: 2 }, [tensor('X', 'FP32', [2, 4], 'tensor(float)')]],
    ['an unknown batch dimension', { batch: null }, [tensor('X', 'FP32', [-1, 4], 'tensor(float)')]],
    ['float64', { dtype: 'float64', batch: 1 }, [tensor('X', 'FP64', [1, 4], 'tensor(double)')]],
    ['int64', { dtype: 'int64', batch: 1 }, [tensor('X', 'INT64', [1, 4], 'tensor(int64)')]],
    ['int32', { dtype: 'int32', batch: 1, inputs: 7 }, [tensor('X', 'INT32', [1, 7], 'tensor(int32)')]],
    // IR 3 lists W and B as graph inputs; they are weights, not part of the signature.
    [
      'IR 3 initializers listed as inputs',
      { irVersion: 3, batch: 1 },
      [tensor('X', 'FP32', [1, 4], 'tensor(float)')],
    ],
    [
      'string, bool, float16, bfloat16 and complex tensors',
      {
        batch: 1,
        ...extras(
          ['s', { tensor: 'string', shape: [3] }],
          ['b', { tensor: 'bool', shape: [] }],
          ['h', { tensor: 'float16', shape: [2] }],
          ['bf', { tensor: 'bfloat16', shape: [2] }],
          ['c', { tensor: 'complex64', shape: [2] }],
          ['u', { tensor: 'uint8' }],
        ),
      },
      [
        tensor('X', 'FP32', [1, 4], 'tensor(float)'),
        tensor('s', 'BYTES', [3], 'tensor(string)'),
        tensor('b', 'BOOL', [], 'tensor(bool)'),
        tensor('h', 'FP16', [2], 'tensor(float16)'),
        tensor('bf', 'BF16', [2], 'tensor(bfloat16)'),
        tensor('c', 'UNKNOWN', [2], 'tensor(complex64)'),
        tensor('u', 'UINT8', null, 'tensor(uint8)'),
      ],
    ],
    [
      'sequence, map, optional and sparse types',
      {
        batch: 1,
        ...extras(
          ['seq', { sequence: { tensor: 'float32', shape: [2] } }],
          ['map', { map: { key: 'string', value: { tensor: 'float32' } } }],
          ['opt', { optional: { tensor: 'int64', shape: ['K'] } }],
          ['sparse', { sparseTensor: 'float32', shape: [3, 4] }],
          ['nested', { sequence: { map: { key: 'int64', value: { sequence: { tensor: 'float64' } } } } }],
        ),
      },
      [
        tensor('X', 'FP32', [1, 4], 'tensor(float)'),
        tensor('seq', 'UNKNOWN', null, 'seq(tensor(float))'),
        tensor('map', 'UNKNOWN', null, 'map(string,tensor(float))'),
        { ...tensor('opt', 'INT64', [-1], 'optional(tensor(int64))'), dimNames: ['K'] },
        tensor('sparse', 'UNKNOWN', [3, 4], 'sparse_tensor(float)'),
        tensor('nested', 'UNKNOWN', null, 'seq(map(int64,seq(tensor(double))))'),
      ],
    ],
  ])('reads %s', async (_name, options, inputs) => {
    expect((await parse(buildLinearModel(options), 5)).inputs).toEqual(inputs);
  });

  it('describes a ZipMap output as seq(map(…)) and imports ai.onnx.ml', async () => {
    const ints = await parse(buildLinearModel({ zipMap: { labels: [3, 4, 5] } }));
    expect(ints.outputs[1]).toEqual(
      tensor('output_probability', 'UNKNOWN', null, 'seq(map(int64,tensor(float)))'),
    );
    expect(ints.opsets).toEqual([
      { domain: '', version: 17 },
      { domain: 'ai.onnx.ml', version: 1 },
    ]);
    const strings = await parse(buildLinearModel({ zipMap: { labels: ['a', 'b', 'c'] } }));
    expect(strings.outputs[1]?.onnxType).toBe('seq(map(string,tensor(float)))');
  });

  it('gives the same answer whatever the chunking', async () => {
    const bytes = buildLinearModel(RICH);
    const expected = await parse(bytes);
    expect(expected.metadata).toEqual(
      Object.fromEntries([
        ['author', 'cairn'],
        ['__proto__', 'data'],
      ]),
    );
    expect(Object.getPrototypeOf(expected.metadata)).toBe(Object.prototype);
    for (const chunk of [1, 2, 3, 13, [1, 100, 7]]) expect(await parse(bytes, chunk)).toEqual(expected);
  });

  it('keeps a value without a type, and truncates a long doc string', async () => {
    const spec = linearModelSpec({ docString: 'x'.repeat(10_000) });
    spec.graph.inputs.push({ name: 'untyped' });
    const info = await parse(encodeModel(spec).bytes());
    expect(info.inputs[1]).toEqual(tensor('untyped', 'UNKNOWN', null, 'unknown'));
    expect(info.docString).toBe(`${'x'.repeat(4096)}…`);
  });

  it('filters inputs named by sparse initializers and initializers that come after the inputs', async () => {
    const valueInfo = (name: string): ProtoWriter =>
      new ProtoWriter()
        .string(1, name)
        .message(2, new ProtoWriter().message(1, new ProtoWriter().varint(1, 1)));
    const graph = new ProtoWriter()
      .message(11, valueInfo('X'))
      .message(11, valueInfo('W'))
      .message(11, valueInfo('S'))
      .message(12, valueInfo('Y'))
      .message(5, new ProtoWriter().varint(1, 2).varint(2, 1).string(8, 'W').bytes(9, new Uint8Array(8)))
      .message(15, new ProtoWriter().message(1, new ProtoWriter().string(8, 'S')).varint(3, 4));
    const model = new ProtoWriter()
      .varint(1, 9)
      .message(7, graph)
      .message(20, new ProtoWriter().string(1, 'training info is skipped'))
      .message(25, new ProtoWriter().string(1, 'so are functions'));
    const info = await parse(model.toBytes(), 3);
    expect(info.inputs.map((i) => i.name)).toEqual(['X']);
    expect(info.outputs.map((o) => o.name)).toEqual(['Y']);
  });

  it('reads an ONNX type nested up to the depth limit', async () => {
    let type: OnnxTypeSpec = { tensor: 'float32' };
    for (let i = 0; i < 15; i++) type = { sequence: type };
    const info = await parse(buildLinearModel(extras(['deep', type])));
    expect(info.inputs[1]?.onnxType).toBe(`${'seq('.repeat(15)}tensor(float)${')'.repeat(15)}`);
  });
});

describe('readOnnxInfo on bad input', () => {
  const valid = buildLinearModel();
  const deep = (levels: number): Uint8Array => {
    let type: OnnxTypeSpec = { tensor: 'float32' };
    for (let i = 0; i < levels; i++) type = { sequence: type };
    return buildLinearModel(extras(['deep', type]));
  };
  const spec = (edit: (s: ModelSpec) => void): Uint8Array => {
    const s = linearModelSpec();
    edit(s);
    return encodeModel(s).bytes();
  };

  it.each<[string, () => Uint8Array, string, ReadOnnxOptions?]>([
    ['an empty file', () => new Uint8Array(0), 'not an ONNX model: the file is empty'],
    ['a text file', () => new TextEncoder().encode('hello, world\n'), ''],
    ['a JSON file', () => new TextEncoder().encode('{"inputs": [1, 2, 3]}'), ''],
    ['a file cut inside the graph', () => valid.subarray(0, valid.length >> 1), 'truncated file'],
    [
      'a model without a graph',
      () => new ProtoWriter().varint(1, 8).string(2, 'x').toBytes(),
      'no graph (ModelProto field 7)',
    ],
    [
      'a model without ir_version',
      () => new ProtoWriter().message(7, new ProtoWriter().string(2, 'g')).toBytes(),
      'ir_version is missing',
    ],
    [
      'a wrong wire type for ir_version',
      () => new ProtoWriter().string(1, '8').toBytes(),
      'ModelProto.ir_version (field 1) has wire type length-delimited, expected varint (at byte 0)',
    ],
    [
      'a wrong wire type for the graph',
      () => new ProtoWriter().varint(1, 8).varint(7, 1).toBytes(),
      'ModelProto.graph (field 7) has wire type varint, expected length-delimited (at byte 2)',
    ],
    [
      'a varint that never ends',
      () => Uint8Array.from([0x08, ...new Array<number>(12).fill(0xff)]),
      'varint longer than 10 bytes (at byte 1)',
    ],
    [
      'a value info longer than its graph',
      () =>
        new ProtoWriter()
          .varint(1, 8)
          .message(7, new ProtoWriter().bytes(11, Uint8Array.from([0x0a, 0x10, 0x41])))
          .toBytes(),
      'field length 16 runs past the end of the enclosing message at byte 9 (at byte 7)',
    ],
    ['types nested 17 deep', () => deep(16), 'type nesting deeper than 16 levels'],
    ['types nested 3,000 deep', () => deep(3000), 'type nesting deeper than 16 levels'],
    [
      'more inputs than the cap',
      () =>
        buildLinearModel({
          extraInputs: Array.from({ length: 10 }, (_, i) => ({ name: `e${i}`, type: { tensor: 'float32' } })),
        }),
      'more than 10 graph inputs and outputs',
      { limits: { maxValues: 10 } },
    ],
    ['a rank above the cap', () => buildLinearModel(), 'tensor rank above 1', { limits: { maxRank: 1 } }],
    [
      'a name above the cap',
      () => buildLinearModel({ inputName: 'features', graphName: 'g' }),
      'ValueInfoProto.name is 8 bytes long; the limit is 4',
      { limits: { maxNameBytes: 4 } },
    ],
    [
      'more initializers than the cap',
      () => buildLinearModel(),
      'more than 1 initializers',
      { limits: { maxInitializers: 1 } },
    ],
    [
      'more retained metadata than the budget',
      () => buildLinearModel({ metadata: { k: 'v'.repeat(200) } }),
      'exceeds 300 bytes',
      { limits: { maxRetainedBytes: 300 } },
    ],
    [
      'a length past the declared file size',
      () => valid,
      'runs past the end of the enclosing message at byte 30',
      { sizeBytes: 30 },
    ],
    [
      'an absurd length at the top level',
      () => Uint8Array.from([0x3a, ...encodeVarint(2 ** 52)]),
      'truncated file',
    ],
    [
      'an opset list above the cap',
      () => spec((s) => s.opsets.push({ domain: 'x', version: 1 })),
      'more than 1 opset imports',
      { limits: { maxOpsets: 1 } },
    ],
  ])('refuses %s', async (_name, bytes, message, options) => {
    expect(await formatError(bytes(), options)).toContain(message);
  });

  it('refuses every prefix that ends inside the graph', async () => {
    const opsetBytes = 4; // the opset_import after the graph: tag, length, version tag, 17
    for (let cut = 0; cut < valid.length - opsetBytes; cut++) {
      await formatError(valid.subarray(0, cut));
    }
    expect((await parse(valid.subarray(0, valid.length - opsetBytes))).opsets).toEqual([]);
  });
});

describe('readOnnxInfo never throws anything but ModelFormatError', () => {
  const rich = buildLinearModel(RICH);
  const chunks = fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 5 });

  it('on random bytes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), chunks, async (bytes, sizes) => {
        await parseOrFormatError(bytes, sizes);
      }),
      { numRuns: 500 },
    );
  });

  it('on random bytes that start like a model', async () => {
    const head = rich.subarray(0, 40);
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 512 }), chunks, async (tail, sizes) => {
        const bytes = new Uint8Array(head.length + tail.length);
        bytes.set(head);
        bytes.set(tail, head.length);
        await parseOrFormatError(bytes, sizes);
      }),
      { numRuns: 300 },
    );
  });

  it('on mutations and truncations of a valid model', async () => {
    const edit = fc.record({
      flips: fc.array(fc.tuple(fc.nat({ max: rich.length - 1 }), fc.integer({ min: 0, max: 255 })), {
        maxLength: 6,
      }),
      cut: fc.option(fc.nat({ max: rich.length }), { nil: undefined }),
      insert: fc.option(
        fc.tuple(fc.nat({ max: rich.length }), fc.uint8Array({ minLength: 1, maxLength: 16 })),
        {
          nil: undefined,
        },
      ),
    });
    await fc.assert(
      fc.asyncProperty(edit, chunks, async ({ flips, cut, insert }, sizes) => {
        let bytes = Uint8Array.from(rich);
        for (const [at, value] of flips) bytes[at] = value;
        if (insert !== undefined) {
          const [at, extra] = insert;
          bytes = Uint8Array.from([...bytes.subarray(0, at), ...extra, ...bytes.subarray(at)]);
        }
        if (cut !== undefined) bytes = bytes.subarray(0, cut);
        await parseOrFormatError(bytes, sizes);
      }),
      { numRuns: 1000 },
    );
  });
});
