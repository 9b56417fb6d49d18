import { isCairnError } from '@cairn/contract';
import { describe, expect, it } from 'vitest';
import { pickModelFile } from './model-file.js';

function refusal(paths: string[]): string {
  try {
    pickModelFile(paths);
  } catch (error) {
    if (isCairnError(error) && error.code === 'FAILED_PRECONDITION') return error.message;
    throw error;
  }
  throw new Error('expected a FAILED_PRECONDITION');
}

describe('pickModelFile', () => {
  it('takes the only .onnx file, wherever it is', () => {
    expect(pickModelFile(['README.md', 'onnx/Churn.ONNX', 'labels.txt'])).toBe('onnx/Churn.ONNX');
  });

  it('prefers model.onnx among several', () => {
    expect(pickModelFile(['a.onnx', 'model.onnx', 'sub/model.onnx'])).toBe('model.onnx');
    expect(pickModelFile(['a.onnx', 'export/model.onnx'])).toBe('export/model.onnx');
  });

  it('refuses several .onnx files none of which is model.onnx, naming them', () => {
    expect(refusal(['a.onnx', 'b.onnx', 'README.md'])).toBe(
      'the version has 2 .onnx files (a.onnx, b.onnx) and none is model.onnx: name the one to serve model.onnx',
    );
    expect(refusal(['a/model.onnx', 'b/model.onnx'])).toContain('a/model.onnx, b/model.onnx');
  });

  it('refuses a version without a .onnx file', () => {
    expect(refusal(['model.pkl', 'requirements.txt'])).toBe(
      'an ONNX model version needs a .onnx file; it has only model.pkl, requirements.txt',
    );
    expect(refusal([])).toBe('an ONNX model version needs a .onnx file; it has no files');
  });
});
