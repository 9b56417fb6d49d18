import { describe, expect, it } from 'vitest';
import { createProgressBar, formatEta, renderProgressLine } from './progress-bar.js';

/** A stderr stand-in that records what is written. */
function fakeStream(isTTY: boolean): NodeJS.WriteStream & { text: string } {
  const stream = {
    isTTY,
    columns: 120,
    text: '',
    write(chunk: string) {
      stream.text += chunk;
      return true;
    },
  };
  return stream as unknown as NodeJS.WriteStream & { text: string };
}

describe('progress bar', () => {
  it('formats time left', () => {
    expect(formatEta(5)).toBe('0:05');
    expect(formatEta(754)).toBe('12:34');
    expect(formatEta(3723)).toBe('1:02:03');
    expect(formatEta(undefined)).toBe('--:--');
    expect(formatEta(Infinity)).toBe('--:--');
  });

  it('renders percentage, bytes, speed, time left, files and the current path', () => {
    const line = renderProgressLine({
      label: 'Uploading',
      state: {
        bytesDone: 50_000_000,
        bytesTotal: 200_000_000,
        filesDone: 3,
        filesTotal: 12,
        path: 'data/train.csv',
      },
      rate: 10_000_000,
      width: 200,
    });
    expect(line).toBe(
      'Uploading [#####---------------]  25%  50 MB/200 MB  10 MB/s  ETA 0:15  3/12 files  data/train.csv',
    );
  });

  it('counts files when there are no bytes to count, and shortens long paths to fit', () => {
    const line = renderProgressLine({
      label: 'Checking',
      state: {
        bytesDone: 0,
        bytesTotal: 0,
        filesDone: 1,
        filesTotal: 4,
        path: `deep/${'x'.repeat(200)}.csv`,
      },
      rate: undefined,
      width: 80,
    });
    expect(line.startsWith('Checking [#####---------------]  25%  1/4 files  …')).toBe(true);
    expect(line.endsWith('x.csv')).toBe(true);
    expect(line.length).toBeLessThan(80);
  });

  it('redraws one line on a terminal, at most ten times a second, and ends it', () => {
    const stream = fakeStream(true);
    let now = 0;
    const bar = createProgressBar({ label: 'Fetching', stream, now: () => now });
    bar.update({ bytesDone: 0, bytesTotal: 1000, filesDone: 0, filesTotal: 1 });
    now = 50;
    bar.update({ bytesDone: 500, bytesTotal: 1000, filesDone: 0, filesTotal: 1 });
    now = 1000;
    bar.update({ bytesDone: 1000, bytesTotal: 1000, filesDone: 1, filesTotal: 1 });
    bar.done();
    const draws = stream.text.split('\r').filter((s) => s !== '');
    expect(draws).toHaveLength(3);
    expect(draws[1]).toContain('1.0 kB/s');
    expect(stream.text.endsWith('\u001b[K\n')).toBe(true);
  });

  it('stays silent off a terminal unless forced, and when turned off', () => {
    const quiet = fakeStream(false);
    createProgressBar({ label: 'x', stream: quiet }).update({
      bytesDone: 1,
      bytesTotal: 2,
      filesDone: 0,
      filesTotal: 1,
    });
    expect(quiet.text).toBe('');
    const off = fakeStream(true);
    const bar = createProgressBar({ label: 'x', stream: off, off: true });
    bar.update({ bytesDone: 1, bytesTotal: 2, filesDone: 0, filesTotal: 1 });
    bar.done();
    expect(off.text).toBe('');
    const forced = fakeStream(false);
    const logged = createProgressBar({ label: 'x', stream: forced, force: true, now: () => 0 });
    logged.update({ bytesDone: 1, bytesTotal: 2, filesDone: 0, filesTotal: 1 });
    logged.done();
    expect(forced.text.split('\n').filter((l) => l !== '')).toHaveLength(2);
    expect(forced.text).not.toContain('\r');
  });
});
