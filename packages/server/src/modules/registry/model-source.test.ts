import { describe, expect, it } from 'vitest';
import { isCairnError } from '@cairn/contract';
import fc from 'fast-check';
import { parseModelSource } from './model-source.js';

const RUN = '0123456789abcdef0123456789abcdef';

describe('parseModelSource', () => {
  it.each([
    [`runs:/${RUN}/model`, { kind: 'run', runId: RUN, path: 'model' }],
    [`runs:/${RUN}/`, { kind: 'run', runId: RUN, path: '' }],
    [`runs:/${RUN}/a/b/model.onnx`, { kind: 'run', runId: RUN, path: 'a/b/model.onnx' }],
    [`mlflow-artifacts:/0/${RUN}/artifacts/model`, { kind: 'artifacts', path: `0/${RUN}/artifacts/model` }],
    [
      `mlflow-artifacts://localhost:5000/0/${RUN}/artifacts/model/`,
      { kind: 'artifacts', path: `0/${RUN}/artifacts/model` },
    ],
    ['mlflow-artifacts:/uploads/abc/my%20model', { kind: 'artifacts', path: 'uploads/abc/my model' }],
    [
      'http://127.0.0.1:5000/api/2.0/mlflow-artifacts/artifacts/1/x/artifacts/m',
      { kind: 'artifacts', path: '1/x/artifacts/m' },
    ],
    ['models:/churn/3', { kind: 'model', name: 'churn', reference: '3' }],
    ['models:/churn@champion', { kind: 'model', name: 'churn', reference: '@champion' }],
  ])('%s', (source, expected) => {
    expect(parseModelSource(source)).toEqual(expected);
  });

  it.each([
    's3://bucket/model',
    '/tmp/model',
    'file:///tmp/model',
    'runs:/',
    'models:/',
    'mlflow-artifacts:/%E0%A4%A',
    '',
  ])('refuses %j with INVALID_ARGUMENT on source', (source) => {
    let caught: unknown;
    try {
      parseModelSource(source);
    } catch (error) {
      caught = error;
    }
    expect(isCairnError(caught) && caught.code === 'INVALID_ARGUMENT' && caught.field === 'source').toBe(
      true,
    );
  });

  it('answers any string with a source or an INVALID_ARGUMENT', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        try {
          parseModelSource(text);
        } catch (error) {
          expect(isCairnError(error)).toBe(true);
        }
      }),
    );
  });
});
