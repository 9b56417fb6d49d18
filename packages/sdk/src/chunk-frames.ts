import { CairnError, frameHead, isCairnError, readFrames as readRawFrames } from '@cairn/contract';

/**
 * The framed chunk stream of `chunks/read`, `chunks/export` and
 * `chunks/import`, typed for the SDK. The byte format (u32 big-endian header
 * length, JSON header, `header.length` payload bytes) and its limits live in
 * the contract, shared with the server; this layer checks that each header
 * is a chunk or an error frame, and reports a broken stream from a server as
 * DATA_LOSS (the bytes received are not what was sent), not as bad input.
 */

export type ChunkEncoding = 'raw' | 'lz4' | 'delta';

export interface ChunkFrameHeader {
  kind: 'chunk';
  digest: string;
  /** Payload bytes in this frame. */
  length: number;
  /** Plain (decoded) size of the chunk. */
  size: number;
  /** Set in exports: how the payload is encoded; a read sends plain bytes and leaves it out. */
  encoding?: ChunkEncoding;
  /** For a delta: the file object its bytes copy from. */
  baseObject?: string | null;
  depth?: number;
}

export interface ErrorFrameHeader {
  kind: 'error';
  digest: string;
  length: number;
  code: string;
  message: string;
}

export type FrameHeader = ChunkFrameHeader | ErrorFrameHeader;

export interface Frame {
  header: FrameHeader;
  payload: Buffer;
}

const broken = (message: string): CairnError => new CairnError('DATA_LOSS', `chunk stream: ${message}`);

/** One frame's bytes; `header.length` is set from the payload. */
export function encodeFrame(header: FrameHeader, payload: Uint8Array = new Uint8Array(0)): Buffer {
  return Buffer.concat([frameHead({ ...header, length: payload.length }), payload]);
}

function checkHeader(header: Record<string, unknown>): FrameHeader {
  const digest = header['digest'];
  if (typeof digest !== 'string') throw broken('a frame header has no digest');
  if (header['kind'] === 'chunk') {
    const size = header['size'];
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
      throw broken(`frame ${digest} has no valid size`);
    }
    return header as unknown as ChunkFrameHeader;
  }
  if (header['kind'] === 'error') {
    return {
      kind: 'error',
      digest,
      length: header['length'] as number,
      code: typeof header['code'] === 'string' ? header['code'] : 'INTERNAL',
      message: typeof header['message'] === 'string' ? header['message'] : 'unknown error',
    };
  }
  throw broken(`unknown frame kind ${JSON.stringify(header['kind'])}`);
}

/**
 * Chunk and error frames from a byte stream, each with its whole payload.
 * Throws DATA_LOSS on a header that is not JSON, lengths past the contract's
 * limits, a stream that ends inside a frame, or a frame of another kind.
 */
export async function* readFrames(source: AsyncIterable<Uint8Array>): AsyncGenerator<Frame> {
  const frames = readRawFrames(source);
  try {
    for (;;) {
      let next: IteratorResult<{ header: Record<string, unknown>; payload: Uint8Array }>;
      try {
        next = await frames.next();
      } catch (error) {
        if (isCairnError(error) && error.code === 'INVALID_ARGUMENT') {
          throw broken(error.message.replace(/^malformed frame stream: /, ''));
        }
        throw error;
      }
      if (next.done === true) return;
      const { header, payload } = next.value;
      yield {
        header: checkHeader(header),
        payload: Buffer.from(payload.buffer, payload.byteOffset, payload.length),
      };
    }
  } finally {
    // A reader that stops early must release the source too.
    await frames.return(undefined);
  }
}
