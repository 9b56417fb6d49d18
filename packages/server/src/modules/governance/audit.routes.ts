import { Readable } from 'node:stream';
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import {
  AUDIT_EXPORT_MEDIA_TYPE,
  AUDIT_LIMITS,
  AuditCheckpoint,
  AuditEventList,
  AuditEventsQuery,
  AuditExportQuery,
  AuditPruneRequest,
  AuditPruneResult,
  AuditPublicKey,
  AuditVerifyResult,
  ErrorResponse,
} from '@cairn/contract';
import { typeboxValidatorCompiler } from '../../http/typebox-validator.js';
import type { AuditService } from './audit.service.js';

export interface AuditRoutesOptions {
  audit: AuditService;
}

const AUDIT = ['audit'];
const errors = { '4xx': ErrorResponse, '5xx': ErrorResponse };

/** /api/v1/audit — query, verify, checkpoint, export and prune the audit trail. */
export const auditRoutes: FastifyPluginAsync<AuditRoutesOptions> = async (instance, options) => {
  const { audit } = options;
  instance.setValidatorCompiler(typeboxValidatorCompiler);
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/audit/events',
    {
      schema: {
        tags: AUDIT,
        summary: 'Audit events, newest first, filtered by target, actor, action, outcome and time',
        description:
          `At most ${AUDIT_LIMITS.maxEvents} per page (${AUDIT_LIMITS.defaultEvents} by default). ` +
          'Cairn admins see every event; a project admin sees the events of the projects they administer.',
        operationId: 'listAuditEvents',
        querystring: AuditEventsQuery,
        response: { 200: AuditEventList, ...errors },
      },
    },
    async (request) => audit.query(request.query),
  );

  app.get(
    '/audit/verify',
    {
      schema: {
        tags: AUDIT,
        summary: 'Check the whole hash chain, the head and the signed checkpoints (Cairn admins)',
        description:
          'Answers 200 either way: `ok` false names the first event that was modified, deleted, inserted or reordered.',
        operationId: 'verifyAuditChain',
        response: { 200: AuditVerifyResult, ...errors },
      },
    },
    async () => audit.verify(),
  );

  app.post(
    '/audit/checkpoints',
    {
      schema: {
        tags: AUDIT,
        summary: "Sign the chain's current head with the server key and keep the checkpoint (Cairn admins)",
        operationId: 'createAuditCheckpoint',
        response: { 201: AuditCheckpoint, ...errors },
      },
    },
    async (_request, reply) => reply.status(201).send(await audit.checkpoint()),
  );

  // Untyped replies here: the answer is a stream, which the response schema's type cannot describe.
  instance.get<{ Querystring: AuditExportQuery }>(
    '/audit/export',
    {
      schema: {
        tags: AUDIT,
        summary: 'Every event as JSON Lines, ending with a checkpoint signed now (Cairn admins)',
        description:
          'One event per line (details parsed), then `{"checkpoint": {seq, hash, time, keyId, signature, publicKey}}` ' +
          'over the last one. Check it offline with `cairn audit verify --file`.',
        operationId: 'exportAudit',
        querystring: AuditExportQuery,
        response: {
          200: {
            description: 'JSON Lines',
            content: { [AUDIT_EXPORT_MEDIA_TYPE]: { schema: Type.String() } },
          },
          ...errors,
        },
      },
    },
    async (request, reply) => {
      const exported = await audit.export({ fromSeq: request.query.fromSeq });
      return reply
        .type(AUDIT_EXPORT_MEDIA_TYPE)
        .header('x-audit-first-seq', String(exported.firstSeq))
        .header('x-audit-last-seq', String(exported.lastSeq))
        .send(Readable.from(exported.lines));
    },
  );

  app.get(
    '/audit/public-key',
    {
      schema: {
        tags: AUDIT,
        summary: 'The Ed25519 public key that signs checkpoints and exports',
        operationId: 'getAuditPublicKey',
        response: { 200: AuditPublicKey, ...errors },
      },
    },
    async () => audit.publicKey(),
  );

  app.post(
    '/audit/prune',
    {
      schema: {
        tags: AUDIT,
        summary:
          'Delete events older than a number of days, never below the minimum retention (Cairn admins)',
        operationId: 'pruneAudit',
        body: AuditPruneRequest,
        response: { 200: AuditPruneResult, ...errors },
      },
    },
    async (request) => audit.prune({ olderThanDays: request.body.olderThanDays }),
  );
};
