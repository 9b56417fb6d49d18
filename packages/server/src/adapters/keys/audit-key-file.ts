import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CairnError } from '@cairn/contract';
import { auditKeyIdOfPem, auditPublicKeyPem, generateAuditKeyPem } from '../../modules/governance/index.js';

function readKey(keyFile: string): string {
  const pem = readFileSync(keyFile, 'utf8');
  try {
    auditKeyIdOfPem(pem);
  } catch (error) {
    throw new CairnError(
      'FAILED_PRECONDITION',
      `${keyFile} is not an Ed25519 private key (PEM): ${(error as Error).message}. ` +
        'Point CAIRN_AUDIT_KEY_FILE at the right file, or move this one away to have a new key made.',
    );
  }
  return pem;
}

/**
 * The audit signing key's PEM, created on first start: owner-only (0600) in
 * an owner-only folder, written under a temporary name and linked into
 * place, so two replicas starting together end up sharing one key and never
 * read a half-written file.
 */
export function loadOrCreateAuditKey(keyFile: string): string {
  if (existsSync(keyFile)) return readKey(keyFile);
  mkdirSync(path.dirname(keyFile), { recursive: true, mode: 0o700 });
  const temporary = `${keyFile}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(temporary, generateAuditKeyPem(), { mode: 0o600, flag: 'wx' });
  try {
    linkSync(temporary, keyFile);
  } catch (error) {
    // Another process made it first: use theirs.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    unlinkSync(temporary);
  }
  return readKey(keyFile);
}

/** The public half (SPKI PEM) of an existing key file, or undefined when there is none; never creates one. */
export function readAuditPublicKey(keyFile: string): string | undefined {
  if (!existsSync(keyFile)) return undefined;
  return auditPublicKeyPem(readKey(keyFile));
}
