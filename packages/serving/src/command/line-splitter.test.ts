import { describe, expect, it } from 'vitest';
import { LineSplitter } from './line-splitter.js';

function splitter(maxLineBytes = 1_000): {
  push: (text: string | Buffer) => void;
  end: () => void;
  seen: string[];
} {
  const seen: string[] = [];
  const lines = new LineSplitter({
    maxLineBytes,
    onLine: (line) => seen.push(line),
    onOverflow: () => seen.push('<overflow>'),
  });
  return { push: (text) => lines.push(Buffer.from(text)), end: () => lines.end(), seen };
}

describe('LineSplitter', () => {
  it('cuts lines across chunks and drops the \\r of \\r\\n', () => {
    const s = splitter();
    s.push('{"a"');
    s.push(':1}\n{"b":2}\r\n{"c"');
    s.push(':3}\n\n');
    expect(s.seen).toEqual(['{"a":1}', '{"b":2}', '{"c":3}', '']);
  });

  it('decodes a character whose bytes arrive in two chunks', () => {
    const s = splitter();
    const bytes = Buffer.from('héllo ✓\n');
    s.push(bytes.subarray(0, 2));
    s.push(bytes.subarray(2, 8));
    s.push(bytes.subarray(8));
    expect(s.seen).toEqual(['héllo ✓']);
  });

  it('reports an over-long line once, skips the rest of it and goes on with the next', () => {
    const s = splitter(8);
    s.push('12345');
    s.push('67890abc');
    s.push('def\nok\n');
    s.push('0123456789\nfine\n');
    expect(s.seen).toEqual(['<overflow>', 'ok', '<overflow>', 'fine']);
  });

  it('takes a line of exactly the limit', () => {
    const s = splitter(4);
    s.push('abcd\nabcde\n');
    expect(s.seen).toEqual(['abcd', '<overflow>']);
  });

  it('hands over a last line without a newline when the stream ends', () => {
    const s = splitter();
    s.push('one\ntwo');
    s.end();
    expect(s.seen).toEqual(['one', 'two']);
  });
});
