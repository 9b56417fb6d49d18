import { canonicalJson, type AuditEvent } from './audit-event.js';
import { auditKeyIdOfPem, checkpointSignatureError } from './audit-signing.js';
import { verifyAuditChain, type AuditProblem, type AuditVerifyResult } from './audit-verify.js';
import type { AuditCheckpoint } from './entities.js';

export interface ExportVerifyResult extends AuditVerifyResult {
  /** The key the checkpoint was checked with. */
  readonly keyId: string | undefined;
  /** True when that key was given by the caller rather than taken from the file itself. */
  readonly keyPinned: boolean;
}

export interface ExportVerifyOptions {
  /** Opens the export's lines afresh (it is read twice: once for its ends, once to check). */
  open: () => AsyncIterable<string>;
  /** The server's public key (PEM) to hold the signature to; without it, the key in the file is used. */
  publicKeyPem?: string | undefined;
  onProgress?: (events: number) => void;
}

class BadLine extends Error {
  constructor(
    readonly seq: number,
    message: string,
  ) {
    super(message);
  }
}

const isText = (v: unknown): v is string => typeof v === 'string';
const isTextOrNull = (v: unknown): v is string | null => v === null || typeof v === 'string';
const isSeq = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

/** An export line back into the event as it was hashed, or undefined when it is not one. */
function eventOf(line: string): AuditEvent | undefined {
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const target = value['target'] as Record<string, unknown> | null | undefined;
  const { seq, time, actor, action, outcome, projectId, requestId, prevHash, hash, details } = value;
  if (
    !isSeq(seq) ||
    !isSeq(time) ||
    !isText(actor) ||
    !isText(action) ||
    !isText(outcome) ||
    typeof target !== 'object' ||
    target === null ||
    !isText(target['kind']) ||
    !isText(target['id']) ||
    !isTextOrNull(projectId) ||
    !isTextOrNull(requestId) ||
    !isText(prevHash) ||
    !isText(hash) ||
    !('details' in value)
  ) {
    return undefined;
  }
  return {
    seq,
    time,
    actor,
    action,
    outcome: outcome as AuditEvent['outcome'],
    target: { kind: target['kind'], id: target['id'] },
    projectId,
    requestId,
    // Details were stored as canonical JSON and are exported parsed; text that was not JSON is exported as is.
    details: typeof details === 'string' ? details : canonicalJson(details),
    prevHash,
    hash,
  };
}

function checkpointOf(line: string): (AuditCheckpoint & { publicKey?: string }) | undefined {
  try {
    const value = JSON.parse(line) as { checkpoint?: Record<string, unknown> };
    const c = value.checkpoint;
    if (typeof c !== 'object' || c === null) return undefined;
    if (!isSeq(c['seq']) || !isText(c['hash']) || !isSeq(c['time'])) return undefined;
    if (!isText(c['keyId']) || !isText(c['signature'])) return undefined;
    return {
      seq: c['seq'],
      hash: c['hash'],
      time: c['time'],
      keyId: c['keyId'],
      signature: c['signature'],
      ...(isText(c['publicKey']) ? { publicKey: c['publicKey'] } : {}),
    };
  } catch {
    return undefined;
  }
}

/** First pass: the first event (where the chain starts) and the last line (the signed checkpoint). */
async function endsOf(
  lines: AsyncIterable<string>,
): Promise<{ first: AuditEvent | undefined; last: string }> {
  let first: AuditEvent | undefined;
  let firstSeen = false;
  let last = '';
  for await (const line of lines) {
    if (line.trim() === '') continue;
    if (!firstSeen) {
      firstSeen = true;
      first = eventOf(line);
    }
    last = line;
  }
  return { first, last };
}

/**
 * Checks an export file offline: the chain of its events (hashes, seqs,
 * links) and the Ed25519 signature of its closing checkpoint over the last
 * event. With a pinned public key, it also proves which server signed it.
 */
export async function verifyAuditExport(options: ExportVerifyOptions): Promise<ExportVerifyResult> {
  const { first, last } = await endsOf(options.open());
  const checkpoint = checkpointOf(last);
  const pinned = options.publicKeyPem !== undefined;
  const keyPem = options.publicKeyPem ?? checkpoint?.publicKey;
  let keyId: string | undefined;
  try {
    keyId = keyPem === undefined ? undefined : auditKeyIdOfPem(keyPem);
  } catch {
    keyId = undefined;
  }
  const base = { firstSeq: first?.seq ?? 0, checkpoints: 0, keyId, keyPinned: pinned };
  const broken = (problem: AuditProblem, events = 0): ExportVerifyResult => ({
    ...base,
    ok: false,
    events,
    lastSeq: checkpoint?.seq ?? 0,
    lastHash: checkpoint?.hash ?? '',
    problem,
  });
  if (checkpoint === undefined) {
    const lastEvent = eventOf(last);
    return broken({
      seq: (lastEvent?.seq ?? 0) + 1,
      kind: 'deleted',
      message: 'the export does not end with its signed checkpoint line: it was cut short or edited',
    });
  }
  if (first === undefined) {
    return broken({
      seq: checkpoint.seq,
      kind: 'deleted',
      message: `the export holds no events (or its first line is not one), though its checkpoint pins seq ${checkpoint.seq}`,
    });
  }
  if (keyPem === undefined) {
    return broken({
      seq: checkpoint.seq,
      kind: 'signature',
      message:
        'the checkpoint carries no public key; pass the server key (cairn audit public-key) to check it',
    });
  }

  let read = 0;
  const source = {
    head: async () => ({
      firstSeq: first.seq,
      anchorHash: first.prevHash,
      lastSeq: checkpoint.seq,
      lastHash: checkpoint.hash,
    }),
    listCheckpoints: async () => [checkpoint],
    async *scan(scanOptions: { pageSize?: number } = {}): AsyncIterable<AuditEvent[]> {
      const pageSize = scanOptions.pageSize ?? 20_000;
      let page: AuditEvent[] = [];
      let lineNo = 0;
      let previousSeq = first.seq - 1;
      for await (const line of options.open()) {
        lineNo++;
        if (line.trim() === '' || line === last) continue;
        const event = eventOf(line);
        if (event === undefined) throw new BadLine(previousSeq + 1, `line ${lineNo} is not an audit event`);
        previousSeq = event.seq;
        page.push(event);
        read++;
        if (page.length >= pageSize) {
          yield page;
          page = [];
        }
      }
      if (page.length > 0) yield page;
    },
  };
  try {
    const result = await verifyAuditChain(source, {
      checkSignature: (c) => checkpointSignatureError(c, keyPem),
      ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
    });
    return { ...result, keyId, keyPinned: pinned };
  } catch (error) {
    if (!(error instanceof BadLine)) throw error;
    return broken({ seq: error.seq, kind: 'modified', message: error.message }, Math.max(0, read));
  }
}
