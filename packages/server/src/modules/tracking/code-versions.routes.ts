import type { Readable } from 'node:stream';
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { CairnError, CODE_VERSION_LIMITS, CodeVersionJson, SetCodeVersionRequest } from '@cairn/contract';
import { typeboxValidatorCompiler } from '../../http/typebox-validator.js';
import type { CodeVersionService } from './code-versions.service.js';
import type { RunCodeVersion } from './entities.js';
import { Binary, errors, RUNS, RunParams } from './native-route-schemas.js';

export interface CodeVersionRoutesOptions {
  codeVersions: CodeVersionService;
}

const CodeVersionReply = Type.Object({ codeVersion: CodeVersionJson }, { additionalProperties: false });

/** Base64 grows bytes by 4/3; the JSON around it is small. */
const BODY_LIMIT = Math.ceil((CODE_VERSION_LIMITS.maxDiffBytes * 4) / 3) + 1024 * 1024;
/** Diffs up to this size are verified whole before sending, so corruption is a clean error. */
const VERIFY_BEFORE_SEND_BYTES = 16 * 1024 * 1024;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** /api/v1/runs/{runId}/code — the git source a run ran from. */
export const codeVersionRoutes: FastifyPluginAsync<CodeVersionRoutesOptions> = async (instance, options) => {
  const { codeVersions } = options;
  instance.setValidatorCompiler(typeboxValidatorCompiler);
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();

  app.put(
    '/runs/:runId/code',
    {
      bodyLimit: BODY_LIMIT,
      schema: {
        tags: RUNS,
        summary: 'Record the git source a run runs from',
        description:
          'The commit, branch, remote (credentials are stripped) and, for a dirty tree, the uncommitted ' +
          `changes as base64 of a \`git apply --binary\` patch (at most ${CODE_VERSION_LIMITS.maxDiffBytes} ` +
          'bytes decoded). Sets the `mlflow.source.git.*` tags too. Recording again replaces it.',
        operationId: 'setRunCodeVersion',
        params: RunParams,
        body: SetCodeVersionRequest,
        response: { 200: CodeVersionReply, ...errors },
      },
    },
    async (request) => {
      const { diff, ...rest } = request.body;
      const version = await codeVersions.setCodeVersion(request.params.runId, {
        ...rest,
        diff: diff === undefined ? undefined : decodeBase64(diff),
      });
      return { codeVersion: codeVersionJson(version) };
    },
  );

  app.get(
    '/runs/:runId/code',
    {
      schema: {
        tags: RUNS,
        summary: 'Get the git source a run ran from',
        operationId: 'getRunCodeVersion',
        params: RunParams,
        response: { 200: CodeVersionReply, ...errors },
      },
    },
    async (request) => ({
      codeVersion: codeVersionJson(await codeVersions.getCodeVersion(request.params.runId)),
    }),
  );

  app.get(
    '/runs/:runId/code/diff',
    {
      schema: {
        tags: RUNS,
        summary: 'Download the uncommitted changes of a run’s source as a patch',
        description: 'Apply with `git apply --binary` on a checkout of the recorded commit.',
        operationId: 'getRunCodeDiff',
        params: RunParams,
        response: { 200: { content: { 'application/octet-stream': { schema: Binary } } }, ...errors },
      },
    },
    async (request, reply) => {
      const diff = await codeVersions.openDiff(request.params.runId);
      reply
        .type('application/octet-stream')
        .header('x-cairn-digest', diff.digest)
        .header('content-disposition', `attachment; filename="${request.params.runId}.patch"`);
      if (diff.sizeBytes <= VERIFY_BEFORE_SEND_BYTES) return reply.send(await readAll(diff.stream));
      return reply.header('content-length', String(diff.sizeBytes)).send(diff.stream);
    },
  );
};

function decodeBase64(text: string): Uint8Array {
  // Buffer.from skips what is not base64; a mangled diff must not be stored as a different patch.
  const compact = text.replace(/\s+/g, '');
  if (compact.length % 4 !== 0 || !BASE64.test(compact))
    throw new CairnError('INVALID_ARGUMENT', 'diff must be base64.', { field: 'diff' });
  return Buffer.from(compact, 'base64');
}

function codeVersionJson(version: RunCodeVersion): CodeVersionJson {
  return {
    runId: version.runId,
    commit: version.commit,
    branch: version.branch,
    remoteUrl: version.remoteUrl,
    dirty: version.dirty,
    diffDigest: version.diffDigest,
    diffBytes: version.diffBytes,
    createdAt: version.createdAt,
  };
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
