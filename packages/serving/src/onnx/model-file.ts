import { CairnError } from '@cairn/contract';

/**
 * The ONNX file among a version's files: the only `.onnx` file, or `model.onnx` when there are several
 * (at the top, or the only file of that name). Anything else is refused, naming what was found.
 */
export function pickModelFile(paths: readonly string[]): string {
  const candidates = paths.filter((path) => path.toLowerCase().endsWith('.onnx'));
  if (candidates.length === 1) return candidates[0] as string;
  if (candidates.length === 0) {
    const found = paths.length === 0 ? 'no files' : `only ${list(paths)}`;
    throw new CairnError('FAILED_PRECONDITION', `an ONNX model version needs a .onnx file; it has ${found}`);
  }
  if (candidates.includes('model.onnx')) return 'model.onnx';
  const named = candidates.filter((path) => path.endsWith('/model.onnx'));
  if (named.length === 1) return named[0] as string;
  throw new CairnError(
    'FAILED_PRECONDITION',
    `the version has ${candidates.length} .onnx files (${list(candidates)}) and none is model.onnx: name the one to serve model.onnx`,
  );
}

function list(paths: readonly string[]): string {
  const shown = paths.slice(0, 10).join(', ');
  return paths.length > 10 ? `${shown} and ${paths.length - 10} more` : shown;
}
