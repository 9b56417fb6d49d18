import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VersionFileJson } from '@cairn/contract';
import { Cairn, CairnError, isCairnError, type AddProgress } from './index.js';
import type { Transport, TransportRequest } from './transport.js';

const sha = (text: string): string => `sha256:${createHash('sha256').update(text).digest('hex')}`;

/** The add routes in memory: which requests came, how many uploads ran at once. */
class FakeServer implements Transport {
  readonly url = 'http://fake';
  calls: string[] = [];
  uploaded = new Map<string, string>();
  parentFiles: VersionFileJson[] = [];
  exists = true;
  failPut: string | undefined;
  inFlight = 0;
  maxInFlight = 0;

  async send(request: TransportRequest): Promise<Response> {
    const route = `${request.method} ${request.path.replace('/api/v1/datasets', '')}`;
    this.calls.push(route);
    if (route === 'GET /ds') {
      if (!this.exists) throw new CairnError('NOT_FOUND', 'no dataset ds');
      return Response.json({ dataset: { name: 'ds' } });
    }
    if (route === 'POST ') return Response.json({ dataset: { name: 'ds' } });
    if (route === 'POST /ds/uploads') {
      return Response.json({ uploadId: 'u1', dataset: 'ds', parent: this.parentFiles.length > 0 ? 1 : null });
    }
    if (route === 'GET /ds/versions/1/files') return Response.json({ files: this.parentFiles });
    if (route === 'POST /ds/uploads/u1/reuse') {
      const { files } = request.json as { files: Array<{ path: string }> };
      return Response.json({
        staged: [],
        missing: files.filter((f) => f.path.includes('gone')).map((f) => f.path),
      });
    }
    if (route === 'PUT /ds/uploads/u1/files') {
      const filePath = String(request.query?.['path']);
      this.inFlight++;
      this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
      try {
        const chunks: Buffer[] = [];
        for await (const piece of request.body?.() as unknown as Readable) chunks.push(piece as Buffer);
        await new Promise((r) => setTimeout(r, 5));
        if (filePath === this.failPut) throw new CairnError('UNAVAILABLE', 'disk full');
        this.uploaded.set(filePath, Buffer.concat(chunks).toString());
      } finally {
        this.inFlight--;
      }
      return Response.json({ path: filePath });
    }
    if (route === 'POST /ds/uploads/u1/commit') {
      return Response.json({
        version: { dataset: 'ds', version: 2, message: (request.json as { message: string }).message },
      });
    }
    if (route === 'DELETE /ds/uploads/u1') return Response.json({});
    throw new Error(`unexpected ${route}`);
  }
}

describe('datasets.add', () => {
  let work: string;
  let server: FakeServer;
  let cairn: Cairn;
  const content: Record<string, string> = {
    'same.csv': 'a,b\n1,2\n',
    'changed.csv': 'a,b\n1,3\n',
    'gone.csv': 'x\n',
    'new.csv': 'n\n',
    'f1.txt': '1',
    'f2.txt': '2',
    'f3.txt': '3',
  };

  beforeAll(() => {
    work = mkdtempSync(path.join(os.tmpdir(), 'cairn-add-'));
    mkdirSync(path.join(work, 'data'));
    for (const [name, text] of Object.entries(content)) writeFileSync(path.join(work, 'data', name), text);
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  const fresh = (): void => {
    server = new FakeServer();
    cairn = new Cairn({ transport: server });
  };

  it('creates a missing dataset and streams every file, two at a time', async () => {
    fresh();
    server.exists = false;
    const progress: AddProgress[] = [];
    const version = await cairn.addDataset('ds', ['data/'], {
      message: 'first',
      cwd: work,
      onProgress: (p) => progress.push(p),
    });
    expect(version).toMatchObject({ version: 2, message: 'first' });
    expect(server.calls.slice(0, 3)).toEqual(['GET /ds', 'POST ', 'POST /ds/uploads']);
    expect(Object.fromEntries(server.uploaded)).toEqual(content);
    expect(server.maxInFlight).toBe(2);
    expect(server.calls.at(-1)).toBe('POST /ds/uploads/u1/commit');
    const last = progress.at(-1);
    expect(last).toMatchObject({ phase: 'committing', filesDone: 7, filesTotal: 7 });
    expect(last?.bytesDone).toBe(last?.bytesTotal);
  });

  it('sends only what differs from the parent: same size and sha256 is reused', async () => {
    fresh();
    const file = (p: string, text: string): VersionFileJson => ({
      path: p,
      digest: sha(text),
      size: text.length,
      mode: 0o644,
    });
    server.parentFiles = [
      file('same.csv', content['same.csv'] ?? ''),
      // Same size, other bytes: hashed, then sent.
      file('changed.csv', 'a,b\n1,2\n'),
      // Same bytes, but the server no longer holds them: sent.
      file('gone.csv', content['gone.csv'] ?? ''),
      file('f1.txt', content['f1.txt'] ?? ''),
    ];
    await cairn.addDataset('ds', ['data/*'], { message: 'second', cwd: work });
    expect([...server.uploaded.keys()].sort()).toEqual([
      'changed.csv',
      'f2.txt',
      'f3.txt',
      'gone.csv',
      'new.csv',
    ]);
    expect(server.calls).toContain('POST /ds/uploads/u1/reuse');
  });

  it('aborts the upload and rethrows when a file fails', async () => {
    fresh();
    server.failPut = 'data/f2.txt';
    let caught: unknown;
    try {
      await cairn.addDataset('ds', ['data'], { message: 'broken', cwd: work });
    } catch (error) {
      caught = error;
    }
    expect(isCairnError(caught) && caught.code).toBe('UNAVAILABLE');
    expect(server.calls).toContain('DELETE /ds/uploads/u1');
    expect(server.calls).not.toContain('POST /ds/uploads/u1/commit');
  }, 20_000);

  it('refuses a missing path or an empty message before any request', async () => {
    fresh();
    await expect(cairn.addDataset('ds', ['data/nope.csv'], { message: 'm', cwd: work })).rejects.toThrow(
      /does not exist/,
    );
    await expect(cairn.addDataset('ds', ['data'], { message: ' ', cwd: work })).rejects.toThrow(/message/);
    expect(server.calls).toEqual([]);
  });
});
