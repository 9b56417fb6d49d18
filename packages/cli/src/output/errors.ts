import { EXIT_CODE_BY_CODE, isCairnError } from '@cairn/contract';

const HEADLINES: Record<string, string> = {
  INVALID_ARGUMENT: 'Invalid input',
  UNAUTHENTICATED: 'Not signed in',
  PERMISSION_DENIED: 'Permission denied',
  NOT_FOUND: 'Not found',
  ALREADY_EXISTS: 'Already exists',
  FAILED_PRECONDITION: 'Not possible in the current state',
  PAYLOAD_TOO_LARGE: 'Too large',
  RESOURCE_EXHAUSTED: 'Rate limited',
  UNAVAILABLE: 'Server unavailable',
  DATA_LOSS: 'Stored data is corrupted',
  INTERNAL: 'Server error',
};

/** One headline, the message, the request id; the exit code follows from the error code. */
export function reportError(error: unknown, stderr: NodeJS.WritableStream = process.stderr): number {
  if (isCairnError(error)) {
    stderr.write(`Error: ${HEADLINES[error.code] ?? error.code} (${error.code})\n  ${error.message}\n`);
    if (error.requestId !== undefined) stderr.write(`  request id: ${error.requestId}\n`);
    if (error.code === 'UNAUTHENTICATED') {
      stderr.write(
        '  Set CAIRN_TOKEN to your API token (a Cairn admin creates one: cairn tokens create --user NAME).\n',
      );
    }
    if (error.code === 'UNAVAILABLE') {
      stderr.write(
        '  Is the server running? Start one with `npx cairn server`, or point --url / CAIRN_URL at it.\n',
      );
    }
    return EXIT_CODE_BY_CODE[error.code];
  }
  const message = error instanceof Error ? error.message : String(error);
  stderr.write(`Error: ${message}\n`);
  return 1;
}

export class UsageError extends Error {}
