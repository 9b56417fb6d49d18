import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isModelFormatError } from './model-format-error.js';
import { INPUT_EXAMPLE_MAX_BYTES, parseMlModel, readInputExample } from './mlmodel.js';

/** As `mlflow.sklearn.log_model(..., input_example=df)` writes it (MLflow 2.10). */
const SKLEARN = `artifact_path: model
flavors:
  python_function:
    env:
      conda: conda.yaml
      virtualenv: python_env.yaml
    loader_module: mlflow.sklearn
    model_path: model.pkl
    predict_fn: predict
    python_version: 3.11.7
  sklearn:
    code: null
    pickled_model: model.pkl
    serialization_format: cloudpickle
    sklearn_version: 1.4.0
mlflow_version: 2.10.0
model_size_bytes: 1234
model_uuid: 3b8d2e1a4f5c4d7890abcdef12345678
run_id: 8ede7df408dd42ed9fc39019ef7df309
saved_input_example_info:
  artifact_path: input_example.json
  pandas_orient: split
  serving_input_path: serving_input_example.json
  type: dataframe
signature:
  inputs: '[{"type": "double", "name": "sepal length (cm)", "required": true}, {"type":
    "double", "name": "sepal width (cm)", "required": true}, {"type": "string", "name":
    "note", "required": false}]'
  outputs: '[{"type": "long", "required": true}]'
  params: null
utc_time_created: '2024-01-15 10:30:45.123456'
`;

/** `mlflow.pytorch.log_model` with a tensor signature (older MLflow: no params key). */
const PYTORCH = `flavors:
  python_function:
    data: data
    env:
      conda: conda.yaml
      virtualenv: python_env.yaml
    loader_module: mlflow.pytorch
    pickle_module_name: mlflow.pytorch.pickle_module
    python_version: 3.10.12
  pytorch:
    code: null
    model_data: data
    pytorch_version: 2.1.0
mlflow_version: 2.9.2
model_uuid: e694c68eba484299976b06ab9058f636
run_id: e13da8acb1e645d4a9b26ab9058f6370
saved_input_example_info:
  artifact_path: input_example.json
  format: tf-serving
  type: ndarray
signature:
  inputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 1, 28, 28]}}]'
  outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 10]}, "name": "logits"}]'
utc_time_created: '2023-12-01 08:00:00.000000'
`;

/** `mlflow.onnx.log_model` without a signature: the ONNX file has one. */
const ONNX = `artifact_path: model
flavors:
  onnx:
    code: null
    data: model.onnx
    onnx_version: 1.15.0
    providers:
    - CUDAExecutionProvider
    - CPUExecutionProvider
  python_function:
    data: model.onnx
    env:
      conda: conda.yaml
      virtualenv: python_env.yaml
    loader_module: mlflow.onnx
    python_version: 3.10.12
mlflow_version: 2.9.2
run_id: 0a1b2c3d4e5f60718293a4b5c6d7e8f9
utc_time_created: '2023-12-01 08:00:00.000000'
`;

/** A pyfunc model with inference params and nested column types (MLflow 2.11+). */
const WITH_PARAMS = `flavors:
  python_function:
    cloudpickle_version: 3.0.0
    loader_module: mlflow.pyfunc.model
    python_model: python_model.pkl
    python_version: 3.11.7
mlflow_version: 2.11.1
signature:
  inputs: '[{"type": "string", "name": "prompt", "required": true}, {"type": "array",
    "items": {"type": "double"}, "name": "scores", "required": false}, {"type": "object",
    "properties": {"city": {"type": "string", "required": true}, "zip": {"type": "long",
    "required": false}}, "name": "address", "required": true}, {"type": "map", "values":
    {"type": "double"}, "name": "weights", "required": true}]'
  outputs: '[{"type": "string", "required": true}]'
  params: '[{"name": "temperature", "type": "float", "default": 0.5, "shape": null},
    {"name": "stop", "type": "string", "default": ["\\\\n"], "shape": [-1]}]'
`;

describe('parseMlModel', () => {
  it('reads an sklearn model with a column signature and an input example', () => {
    expect(parseMlModel(SKLEARN)).toEqual({
      flavors: {
        python_function: {
          env: { conda: 'conda.yaml', virtualenv: 'python_env.yaml' },
          loader_module: 'mlflow.sklearn',
          model_path: 'model.pkl',
          predict_fn: 'predict',
          python_version: '3.11.7',
        },
        sklearn: {
          code: null,
          pickled_model: 'model.pkl',
          serialization_format: 'cloudpickle',
          sklearn_version: '1.4.0',
        },
      },
      signature: {
        inputs: [
          { name: 'sepal length (cm)', type: 'double', required: true },
          { name: 'sepal width (cm)', type: 'double', required: true },
          { name: 'note', type: 'string', required: false },
        ],
        outputs: [{ name: null, type: 'long', required: true }],
      },
      inputExample: {
        artifactPath: 'input_example.json',
        type: 'dataframe',
        pandasOrient: 'split',
        servingInputPath: 'serving_input_example.json',
      },
      runId: '8ede7df408dd42ed9fc39019ef7df309',
      modelUuid: '3b8d2e1a4f5c4d7890abcdef12345678',
      mlflowVersion: '2.10.0',
      utcTimeCreated: '2024-01-15 10:30:45.123456',
      artifactPath: 'model',
    });
  });

  it('reads a pytorch model with a tensor signature', () => {
    const model = parseMlModel(PYTORCH);
    expect(Object.keys(model.flavors)).toEqual(['python_function', 'pytorch']);
    expect(model.signature).toEqual({
      inputs: [{ name: null, type: 'float32', shape: [-1, 1, 28, 28] }],
      outputs: [{ name: 'logits', type: 'float32', shape: [-1, 10] }],
    });
    expect(model.inputExample).toEqual({
      artifactPath: 'input_example.json',
      type: 'ndarray',
      format: 'tf-serving',
    });
  });

  it('reads an onnx flavor without a signature', () => {
    const model = parseMlModel(ONNX);
    expect(model.signature).toBeUndefined();
    expect(model.flavors['onnx']).toMatchObject({
      data: 'model.onnx',
      providers: ['CUDAExecutionProvider', 'CPUExecutionProvider'],
    });
    expect(model.runId).toBe('0a1b2c3d4e5f60718293a4b5c6d7e8f9');
  });

  it('reads params and nested column types', () => {
    expect(parseMlModel(WITH_PARAMS).signature).toEqual({
      inputs: [
        { name: 'prompt', type: 'string', required: true },
        { name: 'scores', type: 'array<double>', required: false },
        { name: 'address', type: 'object{city: string, zip?: long}', required: true },
        { name: 'weights', type: 'map<string, double>', required: true },
      ],
      outputs: [{ name: null, type: 'string', required: true }],
      params: [
        { name: 'temperature', type: 'float', default: 0.5, shape: null },
        { name: 'stop', type: 'string', default: ['\\n'], shape: [-1] },
      ],
    });
  });

  it('accepts a minimal file and a flavor without settings', () => {
    expect(parseMlModel('flavors:\n  custom:\n')).toEqual({ flavors: { custom: {} } });
  });

  const aliasBomb = [
    'a: &a ["x","x","x","x","x","x","x","x","x","x"]',
    'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]',
    'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]',
    'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]',
    'e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]',
    'f: [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]',
    'flavors: {x: {}}',
  ].join('\n');

  it.each([
    ['text that is not YAML', 'flavors: [unclosed\n  - x: {', 'MLmodel is not valid YAML'],
    ['a YAML scalar', 'just text', 'MLmodel must be a YAML mapping'],
    ['a file without flavors', 'run_id: abc\n', 'flavors must be a mapping with at least one flavor'],
    ['an empty flavors mapping', 'flavors: {}\n', 'flavors must be a mapping with at least one flavor'],
    [
      'a flavor that is not a mapping',
      'flavors:\n  sklearn: 3\n',
      'MLmodel field flavors.sklearn must be a mapping',
    ],
    ['a duplicate key', 'flavors: {a: {}}\nflavors: {b: {}}\n', 'MLmodel is not valid YAML'],
    [
      'a signature that is not a mapping',
      'flavors: {a: {}}\nsignature: nope\n',
      'MLmodel field signature must be a mapping',
    ],
    [
      'signature inputs that are not JSON',
      "flavors: {a: {}}\nsignature:\n  inputs: '[{'\n",
      'signature.inputs is not valid JSON',
    ],
    [
      'signature inputs that are not a list',
      'flavors: {a: {}}\nsignature:\n  inputs: \'{"type": "double"}\'\n',
      'signature.inputs must be a JSON list',
    ],
    [
      'a column without a type',
      'flavors: {a: {}}\nsignature:\n  inputs: \'[{"name": "x"}]\'\n',
      'signature.inputs[0].type must be a string',
    ],
    [
      'a column with a bad required',
      'flavors: {a: {}}\nsignature:\n  outputs: \'[{"type": "long", "required": "yes"}]\'\n',
      'signature.outputs[0].required must be true or false',
    ],
    [
      'a tensor without a shape',
      'flavors: {a: {}}\nsignature:\n  inputs: \'[{"type": "tensor", "tensor-spec": {"dtype": "float32"}}]\'\n',
      'signature.inputs[0].tensor-spec.shape must be a list of integers',
    ],
    [
      'a tensor with a fractional dimension',
      'flavors: {a: {}}\nsignature:\n  inputs: \'[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [1.5]}}]\'\n',
      'must hold integers',
    ],
    [
      'an array without items',
      'flavors: {a: {}}\nsignature:\n  inputs: \'[{"type": "array", "name": "x"}]\'\n',
      'signature.inputs[0].items must be an object with a type',
    ],
    [
      'a param without a name',
      'flavors: {a: {}}\nsignature:\n  params: \'[{"type": "float", "default": 1}]\'\n',
      'signature.params[0].name must be a string',
    ],
    [
      'an input example without a path',
      'flavors: {a: {}}\nsaved_input_example_info: {type: dataframe}\n',
      'saved_input_example_info.artifact_path must be a string',
    ],
    [
      'a run_id that is a mapping',
      'flavors: {a: {}}\nrun_id: {a: 1}\n',
      'MLmodel field run_id must be a string',
    ],
    ['an alias bomb', aliasBomb, 'MLmodel is not valid YAML'],
    [
      'a file over 1 MiB',
      `flavors: {a: {}}\n#${'x'.repeat(1024 * 1024)}\n`,
      'MLmodel is larger than 1048576 bytes',
    ],
  ])('refuses %s', (_name, text, message) => {
    const error = (() => {
      try {
        parseMlModel(text);
        return undefined;
      } catch (e) {
        return e;
      }
    })();
    expect(isModelFormatError(error), `expected a ModelFormatError, got ${String(error)}`).toBe(true);
    expect((error as Error).message).toContain(message);
  });

  it('refuses deeply nested YAML without crashing', () => {
    expect(() => parseMlModel(`flavors: {a: {}}\nx: ${'['.repeat(100_000)}`)).toThrow(/MLmodel/);
  });

  it('never throws anything but ModelFormatError', () => {
    const samples = [SKLEARN, PYTORCH, ONNX, WITH_PARAMS];
    const mutated = fc
      .tuple(
        fc.constantFrom(...samples),
        fc.array(fc.tuple(fc.nat(), fc.constantFrom(...'{}[]:,-\'"&*!|>#\n x1'.split(''))), { maxLength: 5 }),
      )
      .map(([text, edits]) => {
        const chars = [...text];
        for (const [at, c] of edits) chars[at % chars.length] = c;
        return chars.join('');
      });
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 300 }), mutated), (text) => {
        try {
          parseMlModel(text);
        } catch (error) {
          if (!isModelFormatError(error)) throw error;
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('readInputExample', () => {
  it('returns the parsed JSON', () => {
    expect(readInputExample('{"columns": ["a"], "data": [[1.5]]}')).toEqual({
      columns: ['a'],
      data: [[1.5]],
    });
  });

  it.each([
    ['invalid JSON', '{"columns": [', 'input example is not valid JSON'],
    [
      'more than 1 MiB',
      `"${'x'.repeat(INPUT_EXAMPLE_MAX_BYTES)}"`,
      'input example is larger than 1048576 bytes',
    ],
  ])('refuses %s', (_name, text, message) => {
    expect(() => readInputExample(text)).toThrow(message);
  });
});
