import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { CairnError, LineageGraph, ModelCard, ModelCardPatch, ModelCardQuery } from '@cairn/contract';
import type { ModelCardFields } from './entities.js';
import { parseCardMarkdown, renderCardMarkdown } from './model-card-markdown.js';
import { nativeCard } from './registry-native-json.js';
import { errors, MODEL_CARDS, VersionParams, type RegistryRoutesOptions } from './registry-route-schemas.js';

const MARKDOWN = 'text/markdown; charset=utf-8';

/** A replaced card starts blank: a section left out of the Markdown is emptied, not kept. */
const BLANK_CARD: ModelCardFields = {
  intendedUse: '',
  outOfScopeUse: '',
  limitations: '',
  ethicalConsiderations: '',
  riskTier: null,
  markdown: '',
};

/** /api/v1/models/{name}/versions/{version}/card and …/lineage — documentation and provenance. */
export const modelCardRoutes: FastifyPluginAsync<RegistryRoutesOptions> = async (instance, options) => {
  const { versions, cards, lineage } = options;
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/models/:name/versions/:version/card',
    {
      schema: {
        tags: MODEL_CARDS,
        summary: 'The model card, as JSON or as Markdown',
        description:
          'Editable sections (intended use, limitations, risk tier…) plus sections generated from the ' +
          'registry, tracking and lineage: signature, training data, source run, code version. ' +
          '`?format=markdown` gives a document that `PUT` takes back after editing.',
        operationId: 'getModelCard',
        params: VersionParams,
        querystring: ModelCardQuery,
        response: {
          200: {
            content: {
              'application/json': { schema: ModelCard },
              'text/markdown': { schema: Type.String() },
            },
          },
          ...errors,
        },
      },
    },
    async (request, reply) => {
      const card = await cards.getCard(request.params.name, request.params.version);
      if (request.query.format === 'markdown') return reply.type(MARKDOWN).send(renderCardMarkdown(card));
      return nativeCard(card);
    },
  );

  app.patch(
    '/models/:name/versions/:version/card',
    {
      schema: {
        tags: MODEL_CARDS,
        summary: 'Change some sections of the model card; the others are kept',
        operationId: 'updateModelCard',
        params: VersionParams,
        body: ModelCardPatch,
        response: { 200: ModelCard, ...errors },
      },
    },
    async (request) => {
      const { name, version } = request.params;
      return nativeCard(await cards.updateCard({ name, version, patch: request.body }));
    },
  );

  // Markdown bodies arrive as text; only this child plugin reads them.
  await app.register(async (child) => {
    const markdown = child.withTypeProvider<TypeBoxTypeProvider>();
    markdown.addContentTypeParser('text/markdown', { parseAs: 'string' }, (_request, body, done) =>
      done(null, body),
    );
    markdown.put(
      '/models/:name/versions/:version/card',
      {
        schema: {
          tags: MODEL_CARDS,
          summary: 'Replace the editable sections from an edited Markdown card',
          description:
            'Send `content-type: text/markdown`, e.g. the output of `GET …/card?format=markdown` after ' +
            'editing. Sections under their usual `## ` headings replace the card’s; a section left out ' +
            'is emptied; generated sections are ignored; other sections are kept as notes.',
          operationId: 'replaceModelCard',
          params: VersionParams,
          body: { content: { 'text/markdown': { schema: Type.String() } } },
          response: { 200: ModelCard, ...errors },
        },
      },
      async (request) => {
        const { name, version } = request.params;
        if (typeof request.body !== 'string') {
          throw new CairnError(
            'INVALID_ARGUMENT',
            'PUT takes the card as Markdown (content-type: text/markdown); change JSON sections with PATCH.',
            { field: 'card' },
          );
        }
        const patch = { ...BLANK_CARD, ...parseCardMarkdown(request.body) };
        return nativeCard(await cards.updateCard({ name, version, patch }));
      },
    );
  });

  app.get(
    '/models/:name/versions/:version/lineage',
    {
      schema: {
        tags: MODEL_CARDS,
        summary: 'The provenance of a version: runs, datasets, parent runs and code versions upstream',
        description:
          'The same graph as `GET /api/v1/lineage/model_version/{versionId}/provenance`, named by model and version.',
        operationId: 'getModelVersionLineage',
        params: VersionParams,
        response: { 200: LineageGraph, ...errors },
      },
    },
    async (request) => {
      const record = await versions.getVersion(request.params.name, request.params.version);
      return lineage.provenance({ kind: 'model_version', id: record.versionId });
    },
  );
};
