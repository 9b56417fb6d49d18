import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditSigner, auditKeyIdOfPem, checkpointSignatureError } from '../../modules/governance/index.js';
import { loadOrCreateAuditKey, readAuditPublicKey } from './audit-key-file.js';

describe('the audit signing key file', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-key-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('is made on first start, owner-only, in a new folder, and reused after', () => {
    const file = path.join(dir, 'nested', 'keys', 'audit.pem');
    expect(readAuditPublicKey(file)).toBeUndefined();
    const pem = loadOrCreateAuditKey(file);
    expect(pem).toContain('BEGIN PRIVATE KEY');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    expect(loadOrCreateAuditKey(file)).toBe(pem);
    expect(readFileSync(file, 'utf8')).toBe(pem);
    // Nothing is left behind from the write.
    expect(readdirSync(path.dirname(file))).toEqual(['audit.pem']);
  });

  it('gives the public half only, under the same key id the signer uses', () => {
    const file = path.join(dir, 'audit.pem');
    const signer = new AuditSigner(loadOrCreateAuditKey(file));
    const publicPem = readAuditPublicKey(file)!;
    expect(publicPem).toContain('BEGIN PUBLIC KEY');
    expect(publicPem).not.toContain('PRIVATE');
    expect(auditKeyIdOfPem(publicPem)).toBe(signer.keyId);
    expect(signer.keyId).toMatch(/^[0-9a-f]{16}$/);
    const checkpoint = signer.signCheckpoint({ seq: 7, hash: 'c'.repeat(64), time: 1 });
    expect(checkpointSignatureError(checkpoint, publicPem)).toBeUndefined();
    for (const changed of [
      { ...checkpoint, seq: 8 },
      { ...checkpoint, hash: 'd'.repeat(64) },
      { ...checkpoint, time: 2 },
      { ...checkpoint, signature: 'AAAA' },
    ]) {
      expect(checkpointSignatureError(changed, publicPem)).toMatch(/signature does not match/);
    }
    expect(checkpointSignatureError({ ...checkpoint, keyId: '0'.repeat(16) }, publicPem)).toMatch(
      /names key/,
    );
    expect(checkpointSignatureError(checkpoint, 'not a key')).toMatch(/cannot be read/);
  });

  it('refuses a file that is not an Ed25519 key, saying what to do', () => {
    const file = path.join(dir, 'audit.pem');
    writeFileSync(file, 'hello');
    expect(() => loadOrCreateAuditKey(file)).toThrow(/not an Ed25519 private key.*CAIRN_AUDIT_KEY_FILE/);
    expect(readFileSync(file, 'utf8')).toBe('hello');
  });
});
