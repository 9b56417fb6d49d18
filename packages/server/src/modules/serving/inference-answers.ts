import {
  encodeInferResponse,
  encodePredictResponse,
  parseInferRequest,
  parsePredictRequest,
} from '@cairn/serving';
import type { InferenceService } from './inference.service.js';

/** One data-plane request, however it arrived (Fastify route or the lean listener path). */
export interface InferenceRequest {
  name: string;
  /** `/v2/models/NAME/versions/V/infer`; picked by weight when absent. */
  version?: string | undefined;
  /** Sticky routing key from the `x-cairn-route-key` header. */
  key?: string | undefined;
  requestId: string;
  /** The parsed JSON body, as sent. */
  body: unknown;
}

/** The header carrying a sticky routing key: requests with the same key keep the same route. */
export const ROUTE_KEY_HEADER = 'x-cairn-route-key';

/** Open Inference Protocol v2 infer: the response body as JSON text. */
export async function answerInfer(inference: InferenceService, request: InferenceRequest): Promise<string> {
  const { name, version, body } = request;
  let id: string | undefined;
  const answer = await inference.infer({
    name,
    version,
    key: request.key,
    protocol: 'v2',
    requestId: request.requestId,
    parse: (model) => {
      const parsed = parseInferRequest(body, { name, metadata: model });
      id = parsed.id;
      return { inputs: parsed.inputs, outputs: parsed.outputs };
    },
  });
  return encodeInferResponse({
    modelName: name,
    modelVersion: String(answer.route.version),
    ...(id === undefined ? {} : { id }),
    outputs: answer.outputs,
  });
}

/** The simple JSON route (`{"instances": [...]}`): the response body as JSON text. */
export async function answerPredict(
  inference: InferenceService,
  request: Omit<InferenceRequest, 'version'>,
): Promise<string> {
  const { name, body } = request;
  let rows = 0;
  const answer = await inference.infer({
    name,
    key: request.key,
    protocol: 'predict',
    requestId: request.requestId,
    parse: (model) => {
      const parsed = parsePredictRequest(body, { name, metadata: model });
      rows = parsed.rows;
      return { inputs: parsed.inputs };
    },
  });
  return encodePredictResponse({
    outputs: answer.outputs,
    rows,
    extra: { requestId: request.requestId, model: answer.route.model, version: answer.route.version },
  });
}
