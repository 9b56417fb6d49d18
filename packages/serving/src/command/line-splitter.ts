/**
 * Cuts a byte stream into UTF-8 lines (`\n`, with an optional `\r` before it
 * dropped). Bytes are gathered until a newline so a character split between
 * two chunks is decoded whole. A line longer than `maxLineBytes` is never
 * held in memory: `onOverflow` is called once and the rest of that line is
 * skipped.
 */
export interface LineSplitterOptions {
  maxLineBytes: number;
  onLine: (line: string) => void;
  onOverflow: () => void;
}

const NEWLINE = 0x0a;

export class LineSplitter {
  readonly #options: LineSplitterOptions;
  #parts: Buffer[] = [];
  #partBytes = 0;
  #skipping = false;

  constructor(options: LineSplitterOptions) {
    this.#options = options;
  }

  push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(NEWLINE, start);
      const end = newline === -1 ? chunk.length : newline;
      if (!this.#skipping) this.#take(chunk.subarray(start, end), newline !== -1);
      if (newline === -1) return;
      this.#skipping = false;
      start = newline + 1;
    }
  }

  /** The stream ended: a last line without a newline still counts. */
  end(): void {
    if (!this.#skipping && this.#partBytes > 0) this.#emit();
    this.#parts = [];
    this.#partBytes = 0;
    this.#skipping = false;
  }

  #take(piece: Buffer, complete: boolean): void {
    if (this.#partBytes + piece.length > this.#options.maxLineBytes) {
      this.#parts = [];
      this.#partBytes = 0;
      this.#skipping = !complete;
      this.#options.onOverflow();
      return;
    }
    if (piece.length > 0) {
      this.#parts.push(piece);
      this.#partBytes += piece.length;
    }
    if (complete) this.#emit();
  }

  #emit(): void {
    const bytes = this.#parts.length === 1 ? this.#parts[0]! : Buffer.concat(this.#parts, this.#partBytes);
    this.#parts = [];
    this.#partBytes = 0;
    const text = bytes.toString('utf8');
    this.#options.onLine(text.endsWith('\r') ? text.slice(0, -1) : text);
  }
}
