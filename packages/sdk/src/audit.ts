import {
  CairnError,
  type AuditCheckpoint,
  type AuditEventList,
  type AuditOutcome,
  type AuditPruneResult,
  type AuditPublicKey,
  type AuditVerifyResult,
} from '@cairn/contract';
import { readJson, type Transport } from './transport.js';

const API = '/api/v1/audit';

export interface ListAuditEventsOptions {
  /** `kind` or `kind:id`, e.g. `run:4f1c…`. */
  target?: string;
  actor?: string;
  /** An exact action, or a prefix ending in `.` (`models.`). */
  action?: string;
  outcome?: AuditOutcome;
  projectId?: string;
  /** From this moment on: a Date, epoch ms, or an ISO date. */
  since?: Date | number | string;
  /** Before this moment. */
  until?: Date | number | string;
  /** Newest first unless `asc`. */
  order?: 'asc' | 'desc';
  limit?: number;
  pageToken?: string;
}

export interface ExportAuditOptions {
  fromSeq?: number;
  /** The whole download's time limit; 30 minutes by default (a million events is a few hundred MB). */
  timeoutMs?: number;
}

const moment = (value: Date | number | string | undefined): string | undefined =>
  value === undefined ? undefined : value instanceof Date ? String(value.getTime()) : String(value);

/** `cairn.audit` — the audit trail: query, verify, checkpoints, export and retention. */
export class AuditResource {
  constructor(private readonly transport: Transport) {}

  /** One page of events; pass `nextPageToken` back as `pageToken` for the next. */
  async list(options: ListAuditEventsOptions = {}): Promise<AuditEventList> {
    const { since, until, ...rest } = options;
    return readJson(
      await this.transport.send({
        method: 'GET',
        path: `${API}/events`,
        query: { ...rest, since: moment(since), until: moment(until) },
      }),
    );
  }

  /** Every event matching, page after page. */
  async *events(
    options: Omit<ListAuditEventsOptions, 'pageToken'> = {},
  ): AsyncIterable<AuditEventList['events'][number]> {
    let pageToken: string | undefined;
    do {
      const page = await this.list({ ...options, ...(pageToken === undefined ? {} : { pageToken }) });
      yield* page.events;
      pageToken = page.nextPageToken;
    } while (pageToken !== undefined);
  }

  /** Checks the whole chain on the server; `ok` false names the first bad event. */
  async verify(options: { timeoutMs?: number } = {}): Promise<AuditVerifyResult> {
    return readJson(
      await this.transport.send({
        method: 'GET',
        path: `${API}/verify`,
        timeoutMs: options.timeoutMs ?? 600_000,
      }),
    );
  }

  async checkpoint(): Promise<AuditCheckpoint> {
    return readJson(await this.transport.send({ method: 'POST', path: `${API}/checkpoints` }));
  }

  async publicKey(): Promise<AuditPublicKey> {
    return readJson(await this.transport.send({ method: 'GET', path: `${API}/public-key` }));
  }

  /**
   * The export as a byte stream of JSON Lines (events, then the signed
   * checkpoint); write it to a file and check it offline with
   * `cairn audit verify --file`.
   */
  async export(options: ExportAuditOptions = {}): Promise<ReadableStream<Uint8Array>> {
    const response = await this.transport.send({
      method: 'GET',
      path: `${API}/export`,
      query: { fromSeq: options.fromSeq },
      headers: { accept: 'application/x-ndjson' },
      timeoutMs: options.timeoutMs ?? 30 * 60_000,
    });
    if (response.body === null)
      throw new CairnError('INTERNAL', 'the server answered the export with no body');
    return response.body;
  }

  /** Deletes events older than `olderThanDays`; the server refuses anything below its minimum retention. */
  async prune(olderThanDays: number): Promise<AuditPruneResult> {
    return readJson(
      await this.transport.send({ method: 'POST', path: `${API}/prune`, json: { olderThanDays } }),
    );
  }
}
