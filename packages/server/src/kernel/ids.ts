import { randomBytes, randomUUID } from 'node:crypto';

/** 32 lowercase hex characters, the shape MLflow clients expect for run ids. */
export function newRunId(): string {
  return randomUUID().replaceAll('-', '');
}

export function newId(): string {
  return randomUUID();
}

export function newToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}
