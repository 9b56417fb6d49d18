import { CairnError } from './errors.js';

/**
 * The framed byte stream datasets use to move many chunks in one request:
 * each frame is a 4-byte big-endian header length, that many bytes of UTF-8
 * JSON header, then `header.length` bytes of payload. JSON headers keep the
 * format open to new fields; binary payloads keep it cheap.
 */
export interface FrameHeader {
  kind: string;
  /** Payload bytes that follow the header. */
  length: number;
  [field: string]: unknown;
}

export interface Frame {
  header: FrameHeader;
  payload: Uint8Array;
}

export const FRAME_LIMITS = {
  maxHeaderBytes: 64 * 1024,
  /** Larger than any chunk (256 KiB) with room for encodings that grow. */
  maxPayloadBytes: 16 * 1024 * 1024,
} as const;

// Every runtime Cairn's faces run on has these (the contract is built without DOM or Node types).
declare const TextEncoder: new () => { encode(text: string): Uint8Array };
declare const TextDecoder: new (
  label: string,
  options: { fatal: boolean },
) => { decode(bytes: Uint8Array): string };

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** The bytes of one frame (header prefix and JSON; the payload is sent as it is after them). */
export function frameHead(header: FrameHeader): Uint8Array {
  const json = encoder.encode(JSON.stringify(header));
  const out = new Uint8Array(4 + json.length);
  new DataView(out.buffer).setUint32(0, json.length);
  out.set(json, 4);
  return out;
}

function badFrame(message: string): CairnError {
  return new CairnError('INVALID_ARGUMENT', `malformed frame stream: ${message}`);
}

/**
 * Reads frames from a byte stream, holding at most one frame in memory. A
 * stream that ends inside a frame, an oversized header or payload, or a
 * header that is not a JSON object with a `kind` and a whole `length` is
 * refused with INVALID_ARGUMENT.
 */
export async function* readFrames(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  limits: { maxPayloadBytes?: number } = {},
): AsyncGenerator<Frame> {
  const maxPayload = limits.maxPayloadBytes ?? FRAME_LIMITS.maxPayloadBytes;
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;

  const take = (n: number): Uint8Array => {
    const head = pending[0];
    // Most payloads sit inside one piece of the stream: hand out a view, not a copy.
    if (head !== undefined && head.length >= n) {
      if (head.length === n) pending.shift();
      else pending[0] = head.subarray(n);
      pendingBytes -= n;
      return head.subarray(0, n);
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const head = pending[0]!;
      const used = Math.min(head.length, n - filled);
      out.set(head.subarray(0, used), filled);
      filled += used;
      if (used === head.length) pending.shift();
      else pending[0] = head.subarray(used);
    }
    pendingBytes -= n;
    return out;
  };

  let header: FrameHeader | undefined;
  let headerLength: number | undefined;
  const iterator =
    Symbol.asyncIterator in source
      ? source[Symbol.asyncIterator]()
      : (async function* () {
          yield* source;
        })();
  for (;;) {
    if (headerLength === undefined && pendingBytes >= 4) {
      const prefix = take(4);
      headerLength = new DataView(prefix.buffer, prefix.byteOffset, 4).getUint32(0);
      if (headerLength === 0 || headerLength > FRAME_LIMITS.maxHeaderBytes) {
        throw badFrame(`a header of ${headerLength} bytes (at most ${FRAME_LIMITS.maxHeaderBytes})`);
      }
    }
    if (headerLength !== undefined && header === undefined && pendingBytes >= headerLength) {
      header = parseHeader(take(headerLength), maxPayload);
    }
    if (header !== undefined && pendingBytes >= header.length) {
      yield { header, payload: take(header.length) };
      header = undefined;
      headerLength = undefined;
      continue;
    }
    const next = await iterator.next();
    if (next.done) break;
    if (next.value.length > 0) {
      pending.push(next.value);
      pendingBytes += next.value.length;
    }
  }
  if (headerLength !== undefined || pendingBytes > 0) throw badFrame('the stream ended inside a frame');
  pending = [];
}

function parseHeader(bytes: Uint8Array, maxPayload: number): FrameHeader {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(bytes));
  } catch {
    throw badFrame('a header that is not UTF-8 JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw badFrame('a header that is not a JSON object');
  }
  const header = value as Record<string, unknown>;
  const length = header['length'];
  if (typeof header['kind'] !== 'string') throw badFrame('a header without a kind');
  if (typeof length !== 'number' || !Number.isInteger(length) || length < 0 || length > maxPayload) {
    throw badFrame(`a payload length that is not a whole number from 0 to ${maxPayload}`);
  }
  return header as FrameHeader;
}
