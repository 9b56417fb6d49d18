import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeFrame, readFrames, type Frame, type FrameHeader } from './chunk-frames.js';
import { isCairnError } from './index.js';

const digest = (n: number): string => `sha256:${n.toString(16).padStart(64, '0')}`;

/** `bytes` delivered in pieces cut at `cuts`. */
async function* pieces(bytes: Buffer, cuts: readonly number[] = []): AsyncGenerator<Uint8Array> {
  let at = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    if (cut <= at || cut >= bytes.length) continue;
    yield bytes.subarray(at, cut);
    at = cut;
  }
  yield bytes.subarray(at);
}

async function all(source: AsyncIterable<Uint8Array>): Promise<Frame[]> {
  const out: Frame[] = [];
  for await (const frame of readFrames(source)) out.push(frame);
  return out;
}

async function failure(source: AsyncIterable<Uint8Array>): Promise<string> {
  try {
    await all(source);
  } catch (error) {
    if (isCairnError(error) && error.code === 'DATA_LOSS') return error.message;
    throw error;
  }
  throw new Error('expected the stream to be refused');
}

const sample = (): Buffer =>
  Buffer.concat([
    encodeFrame({ kind: 'chunk', digest: digest(1), length: 0, size: 5 }, Buffer.from('hello')),
    encodeFrame({ kind: 'error', digest: digest(2), length: 0, code: 'DATA_LOSS', message: 'bad pack' }),
    encodeFrame(
      {
        kind: 'chunk',
        digest: digest(3),
        length: 0,
        size: 9,
        encoding: 'delta',
        baseObject: digest(4),
        depth: 1,
      },
      Buffer.from([1, 2, 3]),
    ),
    encodeFrame({ kind: 'chunk', digest: digest(5), length: 0, size: 0 }),
  ]);

describe('chunk frames', () => {
  it('round-trips headers and payloads, however the bytes are cut', async () => {
    const bytes = sample();
    for (let cut = 0; cut <= bytes.length; cut++) {
      const frames = await all(pieces(bytes, [cut, cut + 1, cut + 7]));
      expect(frames.map((f) => [f.header.kind, f.header.digest, f.payload.toString('hex')])).toEqual([
        ['chunk', digest(1), Buffer.from('hello').toString('hex')],
        ['error', digest(2), ''],
        ['chunk', digest(3), '010203'],
        ['chunk', digest(5), ''],
      ]);
    }
    const [, error, delta] = await all(pieces(bytes));
    expect(error?.header).toEqual({
      kind: 'error',
      digest: digest(2),
      length: 0,
      code: 'DATA_LOSS',
      message: 'bad pack',
    });
    expect(delta?.header).toMatchObject({
      encoding: 'delta',
      baseObject: digest(4),
      depth: 1,
      length: 3,
      size: 9,
    });
  });

  it('reads an empty stream as no frames', async () => {
    expect(await all(pieces(Buffer.alloc(0)))).toEqual([]);
  });

  it('refuses a stream that ends inside a frame', async () => {
    const bytes = sample();
    expect(await failure(pieces(bytes.subarray(0, 2)))).toMatch(/ended inside a frame/);
    expect(await failure(pieces(bytes.subarray(0, 10)))).toMatch(/ended inside a frame/);
    expect(await failure(pieces(bytes.subarray(0, bytes.indexOf('hello') + 2)))).toMatch(
      /ended inside a frame/,
    );
    for (let end = 1; end < bytes.length; end++) {
      const frames: Frame[] = [];
      let refused = false;
      try {
        for await (const frame of readFrames(pieces(bytes.subarray(0, end)))) frames.push(frame);
      } catch (error) {
        refused = isCairnError(error) && error.code === 'DATA_LOSS';
      }
      // Either a clean frame boundary or a refusal; never a silently shortened payload.
      const boundary = frames.reduce((sum, f) => sum + encodeFrame(f.header, f.payload).length, 0) === end;
      expect(refused || boundary).toBe(true);
    }
  });

  it('refuses hostile header and payload lengths before allocating', async () => {
    const prefix = (n: number): Buffer => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(n >>> 0, 0);
      return b;
    };
    expect(await failure(pieces(prefix(0xffffffff)))).toMatch(/a header of 4294967295 bytes/);
    expect(await failure(pieces(prefix(0)))).toMatch(/a header of 0 bytes/);
    const header = (h: object): Buffer => {
      const json = Buffer.from(JSON.stringify(h));
      return Buffer.concat([prefix(json.length), json]);
    };
    expect(
      await failure(pieces(header({ kind: 'chunk', digest: digest(1), length: 2 ** 40, size: 1 }))),
    ).toMatch(/payload length that is not a whole number/);
    expect(await failure(pieces(header({ kind: 'chunk', digest: digest(1), length: -1, size: 1 })))).toMatch(
      /payload length/,
    );
    expect(await failure(pieces(header({ kind: 'chunk', digest: digest(1), length: 1.5, size: 1 })))).toMatch(
      /payload length/,
    );
    expect(await failure(pieces(header({ kind: 'nope', digest: digest(1), length: 0 })))).toMatch(
      /unknown frame kind/,
    );
    expect(await failure(pieces(header({ kind: 'chunk', length: 0, size: 0 })))).toMatch(/no digest/);
    expect(await failure(pieces(header([1, 2])))).toMatch(/not a JSON object/);
    const notJson = Buffer.from('{nope');
    expect(await failure(pieces(Buffer.concat([prefix(notJson.length), notJson])))).toMatch(/not UTF-8 JSON/);
  });

  it('never fails on arbitrary bytes with anything but DATA_LOSS', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), fc.array(fc.nat(300)), async (bytes, cuts) => {
        try {
          await all(pieces(Buffer.from(bytes), cuts));
        } catch (error) {
          expect(isCairnError(error) && error.code === 'DATA_LOSS').toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('round-trips any frames', async () => {
    const frameArb = fc.record({
      digest: fc.string({ maxLength: 80 }),
      payload: fc.uint8Array({ maxLength: 200 }),
      size: fc.nat(),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(frameArb, { maxLength: 8 }), fc.array(fc.nat(2000)), async (frames, cuts) => {
        const bytes = Buffer.concat(
          frames.map((f) =>
            encodeFrame(
              { kind: 'chunk', digest: f.digest, length: 0, size: f.size } as FrameHeader,
              f.payload,
            ),
          ),
        );
        const read = await all(pieces(bytes, cuts));
        expect(
          read.map((f) => [f.header.digest, f.header.kind === 'chunk' ? f.header.size : -1, [...f.payload]]),
        ).toEqual(frames.map((f) => [f.digest, f.size, [...f.payload]]));
      }),
      { numRuns: 200 },
    );
  });
});
