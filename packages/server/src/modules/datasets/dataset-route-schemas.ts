import { Type } from '@sinclair/typebox';
import { DatasetJson, DatasetVersionJson, ErrorResponse, TableJson } from '@cairn/contract';

/** Request and answer schemas shared by the dataset route plugins. */
export const TAGS = ['datasets'];
export const errors = { '4xx': ErrorResponse, '5xx': ErrorResponse };
export const Binary = Type.Unsafe<unknown>({ type: 'string', format: 'binary' });
export const Name = Type.Object({ name: Type.String() });
export const NameRef = Type.Object({ name: Type.String(), ref: Type.String() });
export const NameUpload = Type.Object({ name: Type.String(), uploadId: Type.String() });
export const NameAlias = Type.Object({ name: Type.String(), alias: Type.String() });
export const Paging = {
  max_results: Type.Optional(Type.String()),
  page_token: Type.Optional(Type.String()),
};
export const AnyBody = Type.Object({}, { additionalProperties: true });
export const DatasetAnswer = Type.Object({ dataset: DatasetJson });
export const VersionAnswer = Type.Object({ version: DatasetVersionJson });
export const TablesAnswer = Type.Object({ tables: Type.Array(TableJson) });
export const VersionTablesAnswer = Type.Object({
  version: DatasetVersionJson,
  tables: Type.Array(TableJson),
});
export const OCTETS = 'application/octet-stream';
