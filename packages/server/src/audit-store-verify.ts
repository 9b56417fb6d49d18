import path from 'node:path';
import { CairnError } from '@cairn/contract';
import { readAuditPublicKey } from './adapters/keys/audit-key-file.js';
import { translateDbError } from './adapters/sql/database.js';
import { openReadOnlyDatabase } from './adapters/sql/read-only-database.js';
import {
  auditKeyIdOfPem,
  checkpointSignatureError,
  verifyAuditChain,
  type AuditVerifyResult,
} from './modules/governance/index.js';

export interface VerifyAuditStoreOptions {
  /** `sqlite:PATH` or `postgres://…`, as the server's CAIRN_DB_URL. */
  dbUrl: string;
  /** The server's public key (PEM) for the stored checkpoints; without it only their hashes are compared. */
  publicKeyPem?: string | undefined;
  onProgress?: (events: number) => void;
}

/** Where a data folder keeps its database and signing key, as `cairn server --data-dir` lays them out. */
export function dataDirLocations(dataDir: string): { dbUrl: string; keyFile: string } {
  const dir = path.resolve(dataDir);
  return { dbUrl: `sqlite:${path.join(dir, 'cairn.db')}`, keyFile: path.join(dir, 'audit-signing-key.pem') };
}

/** The public half of a data folder's signing key, when it has one (read, never created). */
export function auditPublicKeyOfDataDir(dataDir: string): string | undefined {
  return readAuditPublicKey(dataDirLocations(dataDir).keyFile);
}

function missingTables(error: unknown): boolean {
  const text = String((error as Error)?.message ?? error);
  return /no such table|relation .* does not exist/i.test(text);
}

/**
 * Checks a store's audit chain directly, without a server: the database is
 * opened read-only and never migrated, so this is safe beside a running
 * server and on a copy taken for an audit. Same verifier as the server's.
 */
export async function verifyAuditStore(options: VerifyAuditStoreOptions): Promise<AuditVerifyResult> {
  const database = openReadOnlyDatabase(options.dbUrl);
  const keyPem = options.publicKeyPem;
  const keyId = keyPem === undefined ? undefined : auditKeyIdOfPem(keyPem);
  try {
    return await verifyAuditChain(database.audit, {
      liveHead: true,
      // Without the key a checkpoint still pins its event's hash; with it, a forged one is caught too.
      checkSignature: (checkpoint) =>
        keyPem === undefined
          ? undefined
          : checkpoint.keyId !== keyId
            ? null
            : checkpointSignatureError(checkpoint, keyPem),
      ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
    });
  } catch (error) {
    if (missingTables(error)) {
      throw new CairnError(
        'FAILED_PRECONDITION',
        'this database has no audit trail: it is not a Cairn database, or was never started by a Cairn server with governance',
        { cause: error },
      );
    }
    throw translateDbError(error);
  } finally {
    await database.close();
  }
}
