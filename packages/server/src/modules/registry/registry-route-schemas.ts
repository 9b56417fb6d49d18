import { Type } from '@sinclair/typebox';
import { ErrorResponse } from '@cairn/contract';
import type { ArtifactService } from '../artifacts/index.js';
import type { LineageService } from '../lineage/index.js';
import type { ModelCardService } from './model-cards.service.js';
import type { ModelVersionService } from './model-versions.service.js';
import type { RegisteredModelService } from './registered-models.service.js';

/** What the registry route plugins are given (app.ts passes the services it built). */
export interface RegistryRoutesOptions {
  models: RegisteredModelService;
  versions: ModelVersionService;
  cards: ModelCardService;
  artifacts: ArtifactService;
  lineage: LineageService;
}

/** Path-parameter schemas and OpenAPI tags shared by the native (/api/v1) registry routes. */

const Name = Type.String({ description: 'The registered model name (URL-encoded: names may hold spaces).' });
const Version = Type.Integer({ minimum: 1, description: 'The version number.' });

export const ModelParams = Type.Object({ name: Name });
export const ModelTagParams = Type.Object({ name: Name, key: Type.String() });
export const AliasParams = Type.Object({ name: Name, alias: Type.String() });
export const VersionParams = Type.Object({ name: Name, version: Version });
export const VersionTagParams = Type.Object({ name: Name, version: Version, key: Type.String() });
export const VersionFileParams = Type.Object({
  name: Name,
  version: Version,
  '*': Type.String({ description: 'File path below the model root, e.g. `model.onnx`.' }),
});
export const UploadParams = Type.Object({
  uploadId: Type.String({
    pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$',
    description: 'A UUID the client chose (lower case) for this folder of files.',
  }),
  '*': Type.String({ description: 'The file’s path inside the folder, e.g. `onnx/model.onnx`.' }),
});

export const Binary = Type.Unsafe<unknown>({ type: 'string', format: 'binary' });
export const NoContent = Type.Null({ description: 'Done; no content.' });
export const errors = { '4xx': ErrorResponse, '5xx': ErrorResponse };

export const MODELS = ['models'];
export const MODEL_VERSIONS = ['model versions'];
export const MODEL_CARDS = ['model cards'];
