import type { FastifyInstance } from 'fastify';
import { CairnError } from '@cairn/contract';
import {
  anonymousCaller,
  AuthenticationFailure,
  authFailedEntry,
  deniedAttemptOf,
  LOCAL_CALLER,
  runAsCaller,
  type Authenticator,
  type Caller,
  type DeniedAttempts,
  type LoginThrottle,
} from '../modules/governance/index.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who sent the request; every service call of the request runs as this caller. */
    caller: Caller;
  }
}

export interface AuthOptions {
  authEnabled: boolean;
  authenticator: Authenticator;
  throttle: LoginThrottle;
  deniedAttempts: DeniedAttempts;
}

/** Load balancers and orchestrators probe these without credentials (KServe's and Triton's are open too). */
const PUBLIC_ROUTES = new Set(['/healthz', '/readyz', '/health', '/v2/health/live', '/v2/health/ready']);
const CHALLENGE = 'Bearer realm="cairn", Basic realm="cairn"';

/**
 * Authentication for every route. `onRequest` turns the Authorization header
 * into a Caller (or refuses with 401, or 429 while the address is throttled);
 * `preHandler` runs the rest of the request inside that caller's async
 * context, so services deep below (even while a streamed upload is being
 * read) see who is asking without a parameter threaded through. With auth off
 * everyone is the local user and credentials are ignored.
 */
export function registerAuth(app: FastifyInstance, options: AuthOptions): void {
  const { authEnabled, authenticator, throttle, deniedAttempts } = options;
  app.decorateRequest('caller', null as unknown as Caller);

  app.addHook('onRequest', async (request, reply) => {
    const context = { requestId: request.id, address: request.ip };
    if (!authEnabled) {
      request.caller = { ...LOCAL_CALLER, ...context };
      return;
    }
    if (PUBLIC_ROUTES.has(request.routeOptions.url ?? '')) {
      request.caller = anonymousCaller(context);
      return;
    }
    const address = request.ip;
    const waitMs = throttle.retryAfterMs(address);
    if (waitMs > 0) {
      const seconds = Math.ceil(waitMs / 1000);
      reply.header('retry-after', String(seconds));
      throw new CairnError(
        'RESOURCE_EXHAUSTED',
        `Too many failed sign-ins from ${address}; try again in ${seconds} s with a valid token.`,
      );
    }
    try {
      request.caller = await authenticator.authenticate(request.headers.authorization, context);
    } catch (error) {
      if (!(error instanceof AuthenticationFailure)) throw error;
      throttle.recordFailure(address);
      // Only attempts the throttle let through are recorded, so a flood cannot flood the trail.
      await deniedAttempts
        .record(authFailedEntry(error, address), anonymousCaller(context))
        .catch((auditError: unknown) =>
          request.log.error({ err: auditError }, 'could not record a failed sign-in in the audit trail'),
        );
      reply.header('www-authenticate', CHALLENGE);
      throw error;
    }
    throttle.recordSuccess(address);
  });

  app.addHook('preHandler', (request, _reply, done) => {
    runAsCaller(request.caller, () => done());
  });

  app.addHook('onError', async (request, _reply, error) => {
    const entry = deniedAttemptOf(error);
    if (entry === undefined) return;
    const caller = request.caller ?? anonymousCaller({ requestId: request.id, address: request.ip });
    await deniedAttempts.record(entry, caller).catch((auditError: unknown) => {
      request.log.error({ err: auditError }, 'could not record a denied attempt in the audit trail');
    });
  });
}
