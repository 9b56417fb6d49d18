import type { FastifyRequest } from 'fastify';
import { CairnError } from '@cairn/contract';

/** Request fields as the MLflow routes read them; the services check each value. */
export type MlflowFields = Record<string, unknown>;

/** JSON body of a POST, PATCH or DELETE; MLflow's client sends an object, possibly empty. */
export function mlflowBody(request: FastifyRequest): MlflowFields {
  const value = request.body;
  if (value === undefined || value === null || value === '') return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new CairnError('INVALID_ARGUMENT', 'The request body must be a JSON object.');
  }
  return value as MlflowFields;
}

/** MLflow's client sends GET parameters in the query string, lists as repeated keys. */
export function mlflowQuery(request: FastifyRequest): MlflowFields {
  return (request.query ?? {}) as MlflowFields;
}
