import { Type } from '@sinclair/typebox';
import { ErrorResponse } from '@cairn/contract';

/** Path-parameter schemas and OpenAPI tags shared by the native (/api/v1) tracking routes. */

export const ExperimentParams = Type.Object({ experimentId: Type.String() });
export const ExperimentTagParams = Type.Object({ experimentId: Type.String(), key: Type.String() });
export const RunParams = Type.Object({ runId: Type.String() });
export const RunKeyParams = Type.Object({ runId: Type.String(), key: Type.String() });
export const ArtifactParams = Type.Object({
  runId: Type.String(),
  '*': Type.String({ description: 'Artifact path below the run root, e.g. `model/model.onnx`.' }),
});
export const Binary = Type.Unsafe<unknown>({ type: 'string', format: 'binary' });
export const NoContent = Type.Null({ description: 'Done; no content.' });
export const errors = { '4xx': ErrorResponse, '5xx': ErrorResponse };

export const EXPERIMENTS = ['experiments'];
export const RUNS = ['runs'];
export const ARTIFACTS = ['artifacts'];

export const pageOf = <K extends string, T>(
  field: K,
  items: T[],
  nextPageToken: string | undefined,
): Record<K, T[]> & { nextPageToken?: string } =>
  ({
    [field]: items,
    ...(nextPageToken === undefined ? {} : { nextPageToken }),
  }) as Record<K, T[]> & { nextPageToken?: string };
