import type { Readable } from 'node:stream';

/** Files up to this size are read and verified whole before the first byte is sent. */
export const VERIFY_BEFORE_SEND_BYTES = 16 * 1024 * 1024;

/**
 * Reads a verified blob stream into memory. Used for small files so that a
 * corrupted blob becomes a clean error response instead of a cut-off body.
 */
export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const TEXT_TYPES: Record<string, string> = {
  txt: 'text/plain; charset=utf-8',
  log: 'text/plain; charset=utf-8',
  md: 'text/markdown; charset=utf-8',
  json: 'application/json',
  yaml: 'text/yaml; charset=utf-8',
  yml: 'text/yaml; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
  html: 'text/plain; charset=utf-8',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  svg: 'text/plain; charset=utf-8',
};

/** HTML and SVG are sent as text so an uploaded artifact can never run script in a browser. */
export function contentTypeFor(path: string): string {
  const dot = path.lastIndexOf('.');
  const ext = dot === -1 ? '' : path.slice(dot + 1).toLowerCase();
  return TEXT_TYPES[ext] ?? 'application/octet-stream';
}
