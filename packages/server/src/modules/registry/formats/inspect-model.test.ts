import { isCairnError } from '@cairn/contract';
import { describe, expect, it } from 'vitest';
import { buildLinearModel, streamBytes } from '../../../testing/onnx-builder.js';
import type { ModelFormat } from '../entities.js';
import { inspectModel, type ModelFileSource } from './inspect-model.js';

interface TrackedFile extends ModelFileSource {
  opened: number;
}

function file(path: string, content: string | Uint8Array): TrackedFile {
  const bytes = typeof content === 'string' ? new TextEncoder().encode(content) : content;
  const tracked: TrackedFile = {
    path,
    sizeBytes: bytes.length,
    opened: 0,
    open: async () => {
      tracked.opened++;
      return streamBytes(bytes, 1000);
    },
  };
  return tracked;
}

async function invalidArgument(files: ModelFileSource[], declared?: ModelFormat): Promise<string> {
  const error = await inspectModel(files, declared).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isCairnError(error), `expected a CairnError, got ${String(error)}`).toBe(true);
  expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'format' });
  return (error as Error).message;
}

const onnx = buildLinearModel({ zipMap: { labels: [0, 1, 2] }, metadata: { author: 'cairn' } });
const corrupt = onnx.subarray(0, 100);
const X = { name: 'X', type: 'FP32', shape: [-1, 4], dimNames: ['N', null], onnxType: 'tensor(float)' };

const SKLEARN_MLMODEL = `flavors:
  python_function: {loader_module: mlflow.sklearn, model_path: model.pkl}
  sklearn: {pickled_model: model.pkl, sklearn_version: 1.4.0}
mlflow_version: 2.10.0
run_id: 8ede7df408dd42ed9fc39019ef7df309
saved_input_example_info: {artifact_path: input_example.json, type: dataframe, pandas_orient: split}
signature:
  inputs: '[{"type": "double", "name": "x", "required": true}]'
  outputs: '[{"type": "long", "required": true}]'
  params: '[{"name": "threshold", "type": "double", "default": 0.5, "shape": null}]'
`;

const ONNX_MLMODEL = `flavors:
  onnx: {data: ./model.onnx, onnx_version: 1.15.0}
  python_function: {data: model.onnx, loader_module: mlflow.onnx}
mlflow_version: 2.9.2
`;

describe('inspectModel: ONNX', () => {
  it.each([['model.onnx'], ['nested/dir/Model.ONNX']])('detects a single ONNX file at %s', async (path) => {
    const result = await inspectModel([file('README.md', '# hi'), file(path, onnx)]);
    expect(result).toEqual({
      format: 'onnx',
      signature: {
        source: 'onnx',
        inputs: [X],
        outputs: [
          { name: 'Y', type: 'FP32', shape: [-1, 3], dimNames: ['N', null], onnxType: 'tensor(float)' },
          { name: 'output_probability', type: 'UNKNOWN', onnxType: 'seq(map(int64,tensor(float)))' },
        ],
      },
      details: {
        file: path,
        irVersion: 8,
        producer: { name: 'cairn-test', version: '1.0' },
        opsets: [
          { domain: '', version: 17 },
          { domain: 'ai.onnx.ml', version: 1 },
        ],
        graphName: 'cairn_linear',
        metadata: { author: 'cairn' },
      },
      warnings: [],
    });
  });

  it('keeps a detected but corrupt ONNX file as opaque, with a warning naming the file', async () => {
    const result = await inspectModel([file('model.onnx', corrupt)]);
    expect(result.format).toBe('opaque');
    expect(result.signature).toBeUndefined();
    expect(result.warnings).toEqual([
      expect.stringMatching(
        /^model\.onnx could not be read as ONNX, so the model is registered as opaque: field length \d+ runs past the end of the enclosing message at byte 100/,
      ),
    ]);
  });

  it('refuses a declared ONNX model that is corrupt', async () => {
    expect(await invalidArgument([file('model.onnx', corrupt)], 'onnx')).toMatch(
      /^model\.onnx is not a valid ONNX model: field length \d+ runs past the end/,
    );
  });

  it('refuses a declared ONNX model without exactly one .onnx file', async () => {
    expect(await invalidArgument([file('weights.bin', 'x')], 'onnx')).toBe(
      'format onnx needs exactly one .onnx file in the model; found none',
    );
    expect(await invalidArgument([file('a.onnx', onnx), file('b.onnx', onnx)], 'onnx')).toBe(
      'format onnx needs exactly one .onnx file in the model; found a.onnx, b.onnx',
    );
  });

  it('treats several .onnx files as opaque when nothing is declared', async () => {
    const result = await inspectModel([file('a.onnx', onnx), file('b.onnx', onnx)]);
    expect(result).toEqual({
      format: 'opaque',
      details: {},
      warnings: ['2 .onnx files found (a.onnx, b.onnx), so none was inspected'],
    });
  });

  it('follows a declared onnx format even next to an MLmodel', async () => {
    const result = await inspectModel([file('MLmodel', SKLEARN_MLMODEL), file('model.onnx', onnx)], 'onnx');
    expect(result.format).toBe('onnx');
    expect(result.signature?.source).toBe('onnx');
  });
});

describe('inspectModel: opaque', () => {
  it('accepts other files as opaque without reading them', async () => {
    const files = [file('model.pkl', 'pickle'), file('sub/MLmodel', 'flavors: {a: {}}')];
    expect(await inspectModel(files)).toEqual({ format: 'opaque', details: {}, warnings: [] });
    expect(await inspectModel([])).toEqual({ format: 'opaque', details: {}, warnings: [] });
  });

  it('does not open anything when opaque is declared', async () => {
    const model = file('model.onnx', onnx);
    expect(await inspectModel([model], 'opaque')).toEqual({ format: 'opaque', details: {}, warnings: [] });
    expect(model.opened).toBe(0);
  });

  it('passes errors of the files themselves through', async () => {
    const broken: ModelFileSource = {
      path: 'model.onnx',
      sizeBytes: 10,
      open: () => Promise.reject(new Error('blob sha256:ab failed verification')),
    };
    await expect(inspectModel([broken])).rejects.toThrow('blob sha256:ab failed verification');
  });
});

describe('inspectModel: MLflow', () => {
  it('reads the MLmodel signature, params, flavors and input example', async () => {
    const example = '{"columns": ["x"], "data": [[1.5]]}';
    const result = await inspectModel([
      file('MLmodel', SKLEARN_MLMODEL),
      file('model.pkl', 'pickle'),
      file('input_example.json', example),
    ]);
    expect(result).toEqual({
      format: 'mlflow',
      signature: {
        source: 'mlflow',
        inputs: [{ name: 'x', type: 'double', required: true }],
        outputs: [{ name: null, type: 'long', required: true }],
        params: [{ name: 'threshold', type: 'double', default: 0.5, shape: null }],
      },
      details: {
        flavors: {
          python_function: { loader_module: 'mlflow.sklearn', model_path: 'model.pkl' },
          sklearn: { pickled_model: 'model.pkl', sklearn_version: '1.4.0' },
        },
        mlflowVersion: '2.10.0',
        runId: '8ede7df408dd42ed9fc39019ef7df309',
        inputExampleInfo: { artifactPath: 'input_example.json', type: 'dataframe', pandasOrient: 'split' },
        inputExample: { columns: ['x'], data: [[1.5]] },
      },
      warnings: [],
    });
  });

  it('fills the signature from the ONNX file of an onnx flavor', async () => {
    const result = await inspectModel([file('MLmodel', ONNX_MLMODEL), file('model.onnx', onnx)]);
    expect(result.format).toBe('mlflow');
    expect(result.signature?.source).toBe('onnx');
    expect(result.signature?.inputs).toEqual([X]);
    expect(result.details['onnx']).toMatchObject({ file: 'model.onnx', irVersion: 8 });
    expect(result.warnings).toEqual([]);
  });

  it('keeps an MLflow model whose ONNX file is missing or corrupt, with a warning', async () => {
    const missing = await inspectModel([file('MLmodel', ONNX_MLMODEL)]);
    expect(missing).toMatchObject({
      format: 'mlflow',
      warnings: ['MLmodel names ONNX file ./model.onnx, which is not in the model'],
    });
    expect(missing.signature).toBeUndefined();
    const bad = await inspectModel([file('MLmodel', ONNX_MLMODEL), file('model.onnx', corrupt)]);
    expect(bad.format).toBe('mlflow');
    expect(bad.warnings).toEqual([
      expect.stringMatching(/^model\.onnx could not be read as ONNX: field length \d+ runs past the end/),
    ]);
  });

  it('prefers the MLmodel signature over the ONNX file and does not read the latter', async () => {
    const text =
      ONNX_MLMODEL +
      'signature:\n  inputs: \'[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 4]}}]\'\n';
    const model = file('model.onnx', onnx);
    const result = await inspectModel([file('MLmodel', text), model]);
    expect(result.signature).toEqual({
      source: 'mlflow',
      inputs: [{ name: null, type: 'float32', shape: [-1, 4] }],
      outputs: [],
    });
    expect(model.opened).toBe(0);
  });

  it.each([
    ['missing', [], 'MLmodel names input example input_example.json, which is not in the model'],
    [
      'not JSON',
      [file('input_example.json', '{oops')],
      'input example input_example.json could not be read: input example is not valid JSON',
    ],
    [
      'over 1 MiB',
      [file('input_example.json', `"${'x'.repeat(1024 * 1024)}"`)],
      'input example input_example.json is larger than 1048576 bytes, so it is not shown',
    ],
  ])('warns about an input example that is %s', async (_name, extra, warning) => {
    const result = await inspectModel([file('MLmodel', SKLEARN_MLMODEL), ...extra]);
    expect(result.format).toBe('mlflow');
    expect(result.details['inputExample']).toBeUndefined();
    expect(result.warnings).toEqual([expect.stringContaining(warning)]);
  });

  it('keeps a detected but broken MLmodel as opaque and refuses a declared one', async () => {
    const broken = [file('MLmodel', 'flavors: [nope')];
    const result = await inspectModel(broken);
    expect(result.format).toBe('opaque');
    expect(result.warnings).toEqual([
      expect.stringMatching(
        /^MLmodel could not be parsed, so the model is registered as opaque: MLmodel is not valid YAML/,
      ),
    ]);
    expect(await invalidArgument(broken, 'mlflow')).toMatch(
      /^MLmodel is not a valid MLflow model file: MLmodel is not valid YAML/,
    );
  });

  it('refuses a declared MLflow model without an MLmodel file at its root', async () => {
    expect(await invalidArgument([file('model/MLmodel', ONNX_MLMODEL)], 'mlflow')).toBe(
      'format mlflow needs an MLmodel file at the root of the model',
    );
  });

  it('refuses an MLmodel file over 1 MiB', async () => {
    const big = file('MLmodel', `flavors: {a: {}}\n#${'x'.repeat(1024 * 1024)}`);
    expect(await invalidArgument([big], 'mlflow')).toContain('MLmodel is larger than 1048576 bytes');
  });

  describe('command models (cairn-model.json)', () => {
    const manifest = JSON.stringify({
      command: ['python3', 'predict.py'],
      inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 20] }],
      outputs: [{ name: 'probability', datatype: 'FP32', shape: [-1, 1] }],
    });

    it('recognises a folder with a serving manifest, even beside an MLmodel, and reads its signature', async () => {
      const files = [
        file('cairn-model.json', manifest),
        file('predict.py', 'print(1)'),
        file('MLmodel', SKLEARN_MLMODEL),
      ];
      const inspection = await inspectModel(files);
      expect(inspection).toMatchObject({
        format: 'command',
        signature: {
          source: 'command',
          inputs: [{ name: 'features', type: 'FP32', shape: [-1, 20] }],
          outputs: [{ name: 'probability', type: 'FP32', shape: [-1, 1] }],
        },
        details: { command: ['python3', 'predict.py'] },
        warnings: [],
      });
    });

    it('keeps a folder with a broken manifest as opaque with a warning, unless command was declared', async () => {
      const files = [file('cairn-model.json', '{"command": []}')];
      const inspection = await inspectModel(files);
      expect(inspection.format).toBe('opaque');
      expect(inspection.warnings[0]).toMatch(/cairn-model.json could not be read/);
      expect(await invalidArgument(files, 'command')).toMatch(/not a valid serving manifest/);
      expect(await invalidArgument([file('x.py', '')], 'command')).toMatch(/needs a cairn-model.json/);
    });
  });
});
