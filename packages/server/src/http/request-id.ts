import type { IncomingHttpHeaders } from 'node:http';
import { newTimeOrderedId } from '../kernel/ids.js';

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * A request's id: the caller's `x-request-id` when it is a plain token (so a
 * client can match its logs and send feedback keyed by its own id), else a
 * new time-ordered one.
 */
export function requestIdOf(headers: IncomingHttpHeaders): string {
  const given = headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID_PATTERN.test(given) ? given : newTimeOrderedId();
}
