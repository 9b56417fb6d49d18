import { PIPELINE_LIMITS } from './pipeline-spec.js';
import { treePathProblem } from './file-tree.js';

/**
 * How a client uploads a directory in one request body
 * (`application/vnd.cairn.tree`): for each file, a 4-byte big-endian header
 * length, the header as JSON `{"path", "sizeBytes", "executable"}`, then
 * exactly `sizeBytes` bytes of content. The body ends after the last file.
 */
// The contract compiles without DOM or Node types; both runtimes have these globals.
declare const TextEncoder: new () => { encode(text: string): Uint8Array };
declare const TextDecoder: new (
  label: string,
  options: { fatal: boolean },
) => { decode(bytes: Uint8Array): string };

export const TREE_FRAMES_CONTENT_TYPE = 'application/vnd.cairn.tree';

export interface TreeFrameHeader {
  path: string;
  sizeBytes: number;
  executable: boolean;
}

export interface TreeFrame extends TreeFrameHeader {
  content: Uint8Array;
}

const MAX_HEADER_BYTES = 4096;

/** The bytes that go before a file's content. */
export function treeFrameHeader(header: TreeFrameHeader): Uint8Array {
  const json = new TextEncoder().encode(
    JSON.stringify({ path: header.path, sizeBytes: header.sizeBytes, executable: header.executable }),
  );
  const out = new Uint8Array(4 + json.byteLength);
  new DataView(out.buffer).setUint32(0, json.byteLength);
  out.set(json, 4);
  return out;
}

/** Splits a body into files; throws an Error naming the first problem (bad framing, bad path, duplicate, limits). */
export function parseTreeFrames(body: Uint8Array): TreeFrame[] {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const frames: TreeFrame[] = [];
  const seen = new Set<string>();
  let offset = 0;
  let total = 0;
  while (offset < body.byteLength) {
    if (offset + 4 > body.byteLength)
      throw new Error(`the body ends inside a frame header at byte ${offset}`);
    const headerLength = view.getUint32(offset);
    if (headerLength === 0 || headerLength > MAX_HEADER_BYTES) {
      throw new Error(
        `frame at byte ${offset} has a header of ${headerLength} bytes (1–${MAX_HEADER_BYTES} allowed)`,
      );
    }
    if (offset + 4 + headerLength > body.byteLength)
      throw new Error(`the body ends inside the header at byte ${offset}`);
    const header = parseHeader(body.subarray(offset + 4, offset + 4 + headerLength), frames.length);
    const start = offset + 4 + headerLength;
    if (start + header.sizeBytes > body.byteLength) {
      throw new Error(`${header.path}: the body ends before its ${header.sizeBytes} bytes`);
    }
    if (seen.has(header.path)) throw new Error(`${header.path} is sent twice`);
    seen.add(header.path);
    total += header.sizeBytes;
    if (frames.length >= PIPELINE_LIMITS.maxCodeFiles) {
      throw new Error(`more than ${PIPELINE_LIMITS.maxCodeFiles} files`);
    }
    if (total > PIPELINE_LIMITS.maxCodeBytes)
      throw new Error(`more than ${PIPELINE_LIMITS.maxCodeBytes} bytes of files`);
    frames.push({ ...header, content: body.subarray(start, start + header.sizeBytes) });
    offset = start + header.sizeBytes;
  }
  return frames;
}

function parseHeader(bytes: Uint8Array, index: number): TreeFrameHeader {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new Error(`frame ${index}: the header is not UTF-8 JSON`);
  }
  const h = value as Partial<TreeFrameHeader> | null;
  if (
    h === null ||
    typeof h !== 'object' ||
    typeof h.path !== 'string' ||
    typeof h.sizeBytes !== 'number' ||
    !Number.isSafeInteger(h.sizeBytes) ||
    h.sizeBytes < 0 ||
    typeof h.executable !== 'boolean'
  ) {
    throw new Error(
      `frame ${index}: the header needs path (string), sizeBytes (integer ≥ 0) and executable (boolean)`,
    );
  }
  const problem = treePathProblem(h.path);
  if (problem !== undefined) throw new Error(`frame ${index}: the path ${JSON.stringify(h.path)} ${problem}`);
  return { path: h.path, sizeBytes: h.sizeBytes, executable: h.executable };
}
