import { elementCount, type Tensor } from '../tensors/tensor.js';
import { nestedText } from './json-text.js';

export interface PredictResponse {
  outputs: readonly Tensor[];
  /** The rows of the request; each output's first dimension is expected to be this. */
  rows: number;
  /** More top-level keys after `predictions` (e.g. `model_version`); `predictions` itself is never overwritten. */
  extra?: Record<string, unknown>;
}

/** How one output is written into each row's entry. */
type OutputRows = (row: number) => string;

function outputRows(tensor: Tensor, rows: number): OutputRows {
  if (tensor.shape.length === 0 || tensor.shape[0] !== rows) {
    // Not batched by row (a list of class labels, say): every row gets it whole.
    const whole = nestedText(tensor, { start: 0, shape: tensor.shape });
    return () => whole;
  }
  const rowShape = tensor.shape.slice(1);
  const perRow = elementCount(rowShape);
  // A row of one element reads better as a bare value: [0.93] for a churn score would only add brackets.
  const entryShape = perRow === 1 ? [] : rowShape;
  return (row) => nestedText(tensor, { start: row * perRow, shape: entryShape });
}

/**
 * `{"predictions": [...], ...extra}` with one entry per row: with one output
 * the entry is that output's row (a bare value when the row is one element,
 * else arrays nested per the output's remaining dimensions); with several, an
 * object keyed by output name. An output whose first dimension is not `rows`
 * goes whole into every row's entry. NaN and ±Infinity become null.
 */
export function encodePredictResponse(response: PredictResponse): string {
  const { outputs, rows } = response;
  const writers = outputs.map((tensor) => outputRows(tensor, rows));
  const keys = outputs.map((tensor) => `${JSON.stringify(tensor.name)}:`);
  const single = writers.length === 1 ? writers[0] : undefined;
  let text = '{"predictions":[';
  for (let row = 0; row < rows; row += 1) {
    if (row > 0) text += ',';
    if (single !== undefined) {
      text += single(row);
      continue;
    }
    text += '{';
    writers.forEach((write, index) => {
      text += `${index > 0 ? ',' : ''}${keys[index]}${write(row)}`;
    });
    text += '}';
  }
  text += ']';
  for (const [key, value] of Object.entries(response.extra ?? {})) {
    const json = key === 'predictions' ? undefined : JSON.stringify(value);
    if (json !== undefined) text += `,${JSON.stringify(key)}:${json}`;
  }
  return `${text}}`;
}
