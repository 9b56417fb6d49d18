import { ModelFormatError } from './model-format-error.js';

export interface TextSource {
  path: string;
  sizeBytes: number;
  open(): Promise<AsyncIterable<Uint8Array>>;
}

/** Reads a small text file whole, refusing it past `maxBytes` whatever its recorded size says. */
export async function readSmallText(file: TextSource, maxBytes: number): Promise<string> {
  if (file.sizeBytes > maxBytes) throw new ModelFormatError(`${file.path} is larger than ${maxBytes} bytes`);
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of await file.open()) {
    total += chunk.length;
    // Leaving the loop early closes the stream.
    if (total > maxBytes) throw new ModelFormatError(`${file.path} is larger than ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return new TextDecoder('utf-8').decode(bytes);
}
