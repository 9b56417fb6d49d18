import { CairnError } from '@cairn/contract';
import { allocateData, elementWriter } from '../tensors/datatype-arrays.js';
import { describeValue, formatShape, isJsonObject, ownField } from '../tensors/json-value.js';
import { DEFAULT_MAX_ELEMENTS } from '../tensors/tensor-fields.js';
import { elementCount, type Tensor, type TensorSpec } from '../tensors/tensor.js';
import { chooseRowForm, rowReader, type InputPlan, type RowForm } from './predict-rows.js';
import type { ServedModel } from './v2-infer.js';

export { encodePredictResponse, type PredictResponse } from './predict-response.js';

/**
 * The simple JSON route, `POST /deployments/{name}/predict` with
 * `{"instances": [row, …]}`: each row becomes one slice of every input's
 * first (batch) dimension. See `chooseRowForm` for what a row may look like.
 */

export const DEFAULT_MAX_ROWS = 10_000;

export interface PredictLimits {
  /** Elements one input tensor may hold in all rows together; 16,777,216 when absent. */
  maxElements?: number;
  /** Rows one request may carry; 10,000 when absent. */
  maxRows?: number;
}

export interface PredictRequest {
  /** One per model input, in the order the model declares them, each [rows, ...rest of its shape]. */
  inputs: Tensor[];
  rows: number;
}

const invalid = (field: string, message: string): CairnError =>
  new CairnError('INVALID_ARGUMENT', message, { field });

function readInstances(body: unknown, limits: PredictLimits): unknown[] {
  if (!isJsonObject(body)) {
    throw new CairnError('INVALID_ARGUMENT', `the request body is ${describeValue(body)}, not a JSON object`);
  }
  const instances = ownField(body, 'instances');
  if (!Array.isArray(instances) || instances.length === 0) {
    const wanted = 'send {"instances": [row, …]} with one row per prediction';
    throw invalid('instances', `instances is ${describeValue(instances)}; ${wanted}`);
  }
  const maxRows = limits.maxRows ?? DEFAULT_MAX_ROWS;
  if (instances.length > maxRows) {
    throw invalid('instances', `instances has ${instances.length} rows, at most ${maxRows} are allowed`);
  }
  return instances;
}

function checkBatchDimension(spec: TensorSpec, model: ServedModel, rows: number): void {
  const batch = spec.shape[0];
  if (batch === undefined) {
    const message = `input "${spec.name}" of model ${model.name} has no batch dimension (shape []); use the v2 infer route`;
    throw new CairnError('FAILED_PRECONDITION', message);
  }
  if (batch !== -1 && batch !== rows) {
    const takes = `model ${model.name}'s input "${spec.name}" takes exactly ${batch} per request`;
    throw invalid('instances', `instances has ${rows} row${rows === 1 ? '' : 's'}, but ${takes}`);
  }
}

/** The row's dimensions, reading any -1 (a sequence length, say) from how the first row nests. */
function settleRest(spec: TensorSpec, first: unknown, path: string): number[] {
  const rest = spec.shape.slice(1);
  let node = first;
  return rest.map((dim, depth) => {
    const size = Array.isArray(node) ? node.length : undefined;
    node = Array.isArray(node) ? node[0] : undefined;
    if (dim !== -1) return dim;
    if (size !== undefined) return size;
    const which = `dimension ${depth + 1} of input "${spec.name}" ${formatShape(spec.shape)}`;
    throw invalid(
      path,
      `${path} is ${describeValue(first)}; it must nest arrays so the size of ${which} can be read`,
    );
  });
}

interface PlanContext {
  rows: number;
  maxElements: number;
}

function planInput(
  spec: TensorSpec,
  first: { value: unknown; path: string },
  context: PlanContext,
): InputPlan {
  const rest = settleRest(spec, first.value, first.path);
  const perRow = elementCount(rest);
  const total = perRow * context.rows;
  if (total > context.maxElements) {
    const holds = `${context.rows} rows of input "${spec.name}" hold ${total} elements`;
    throw invalid('instances', `instances: ${holds}, more than the ${context.maxElements} allowed`);
  }
  const data = allocateData(spec.datatype, total);
  return { spec, rest, perRow, data, write: elementWriter(spec.datatype, data) };
}

/**
 * Reads a predict request into one tensor per model input. Throws
 * INVALID_ARGUMENT naming the row and value at fault, and
 * FAILED_PRECONDITION when the model has an input without a batch dimension.
 */
export function parsePredictRequest(
  body: unknown,
  model: ServedModel,
  limits: PredictLimits = {},
): PredictRequest {
  const instances = readInstances(body, limits);
  const rows = instances.length;
  for (const spec of model.metadata.inputs) checkBatchDimension(spec, model, rows);
  const form: RowForm = chooseRowForm(instances[0], model);
  const read = rowReader(form, model);
  const context: PlanContext = { rows, maxElements: limits.maxElements ?? DEFAULT_MAX_ELEMENTS };
  const first = read.values(instances[0], 'instances[0]');
  const plans = model.metadata.inputs.map((spec, index) => planInput(spec, first[index]!, context));
  instances.forEach((row, index) => read.write(plans, { index, value: row, path: `instances[${index}]` }));
  return {
    inputs: plans.map((plan) => ({
      name: plan.spec.name,
      datatype: plan.spec.datatype,
      shape: [rows, ...plan.rest],
      data: plan.data,
    })),
    rows,
  };
}
