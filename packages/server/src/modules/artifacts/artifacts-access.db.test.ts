import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { randomUUID } from 'node:crypto';
import { isCairnError } from '@cairn/contract';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FsBlobStore } from '../../adapters/blob/fs-blob-store.js';
import { createSqlStores, createSqlTransactor, type MetadataStores } from '../../adapters/sql/sql-stores.js';
import { ADMIN_CALLER, memberCaller } from '../../testing/callers.js';
import { describeEachDatabase } from '../../testing/test-databases.js';
import { AccessControl, deniedAttemptOf, runAsCaller, type AuditEvent } from '../governance/index.js';
import type { ArtifactOwner } from './artifact-access.js';
import { ArtifactService } from './artifacts.service.js';

const clock = { now: () => 1_700_000_000_000 };

/** The layout the resolver in app.ts reads: `p1/…` and `p2/…` stand for two projects' run folders. */
async function ownerOf(path: string): Promise<ArtifactOwner> {
  const [top = '', second] = path.split('/', 2);
  if (top === '_uploads' && second !== undefined) return { kind: 'staging' };
  if ((top === 'p1' || top === 'p2') && second !== undefined) return { kind: 'project', projectId: top };
  return { kind: 'server' };
}

const body = (text: string) => Readable.from([Buffer.from(text)]);

async function refusal(work: Promise<unknown>): Promise<string> {
  try {
    await work;
  } catch (error) {
    if (!isCairnError(error)) throw error;
    expect(deniedAttemptOf(error)).toBeDefined();
    return error.code;
  }
  throw new Error('expected a refusal');
}

describeEachDatabase('ArtifactService permissions and audit', ({ database }) => {
  let stores: MetadataStores;
  let artifacts: ArtifactService;
  let blobRoot: string;
  const viewer = memberCaller('alice', { p1: 'viewer' });
  const editor = memberCaller('bob', { p1: 'editor' });
  const outsider = memberCaller('carol', { p2: 'editor' });

  beforeAll(() => {
    const db = database();
    stores = createSqlStores(db.db, db.helpers);
    blobRoot = mkdtempSync(path.join(os.tmpdir(), 'cairn-artifact-access-'));
    artifacts = new ArtifactService({
      blobs: new FsBlobStore({ root: blobRoot }),
      index: stores.artifacts,
      transactor: createSqlTransactor(db, clock),
      clock,
      access: new AccessControl({ authEnabled: true }),
      ownerOf,
    });
  });
  afterAll(() => rmSync(blobRoot, { recursive: true, force: true }));

  const headSeq = async () => (await stores.auditLog.head()).lastSeq;
  const eventsAfter = (seq: number): Promise<AuditEvent[]> =>
    stores.auditLog.query({ afterSeq: seq, order: 'asc', limit: 100 });

  it('an editor uploads and deletes, each with one event naming the path, project and digest', async () => {
    const dir = `p1/${randomUUID()}`;
    const before = await headSeq();
    const file = await runAsCaller(editor, () => artifacts.upload(`${dir}/a.txt`, body('hello')));
    await runAsCaller(editor, () => artifacts.delete(dir));
    const events = await eventsAfter(before);
    expect(events.map((e) => [e.action, e.actor, e.projectId, e.target.id])).toEqual([
      ['artifacts.upload', 'bob', 'p1', `${dir}/a.txt`],
      ['artifacts.delete', 'bob', 'p1', dir],
    ]);
    expect(JSON.parse(events[0]!.details)).toEqual({ digest: file.digest, sizeBytes: 5 });
    expect(JSON.parse(events[1]!.details)).toEqual({ files: 1 });
  });

  it('a viewer reads; an editor of another project neither reads nor writes', async () => {
    const dir = `p1/${randomUUID()}`;
    await runAsCaller(editor, () => artifacts.upload(`${dir}/a.txt`, body('hello')));
    await runAsCaller(viewer, async () => {
      expect((await artifacts.stat(`${dir}/a.txt`))?.sizeBytes).toBe(5);
      expect((await artifacts.list({ root: dir })).map((e) => e.path)).toEqual(['a.txt']);
      expect((await artifacts.listTree(dir)).length).toBe(1);
      (await artifacts.download(`${dir}/a.txt`)).stream.destroy();
    });
    for (const read of [
      () => artifacts.stat(`${dir}/a.txt`),
      () => artifacts.download(`${dir}/a.txt`),
      () => artifacts.list({ root: dir }),
      () => artifacts.listTree(dir),
    ] as Array<() => Promise<unknown>>) {
      expect(await refusal(runAsCaller(outsider, read))).toBe('PERMISSION_DENIED');
    }
  });

  it.each([
    ['a viewer uploads', () => viewer, (dir: string) => artifacts.upload(`${dir}/b.txt`, body('x'))],
    ['a viewer deletes', () => viewer, (dir: string) => artifacts.delete(`${dir}/a.txt`)],
    ['another project uploads', () => outsider, (dir: string) => artifacts.upload(`${dir}/b.txt`, body('x'))],
    ['another project deletes', () => outsider, (dir: string) => artifacts.delete(dir)],
    [
      'an editor writes outside any run',
      () => editor,
      () => artifacts.upload(`loose-${randomUUID()}.txt`, body('x')),
    ],
    ['an editor lists the root', () => editor, () => artifacts.list({})],
    [
      'a viewer stages a model upload',
      () => viewer,
      () => artifacts.upload(`_uploads/${randomUUID()}/m`, body('x')),
    ],
  ] as const)('refused when %s: nothing indexed, no event', async (_label, who, attempt) => {
    const dir = `p1/${randomUUID()}`;
    await runAsCaller(editor, () => artifacts.upload(`${dir}/a.txt`, body('hello')));
    const [before, files] = [await headSeq(), await stores.artifacts.listTree('')];
    expect(await refusal(runAsCaller(who(), () => attempt(dir)))).toBe('PERMISSION_DENIED');
    expect(await stores.artifacts.listTree('')).toEqual(files);
    expect(await eventsAfter(before)).toEqual([]);
  });

  it('staged model uploads are open to an editor of any project, filed under no project', async () => {
    const before = await headSeq();
    await runAsCaller(outsider, () => artifacts.upload(`_uploads/${randomUUID()}/model.onnx`, body('m')));
    const [event] = await eventsAfter(before);
    expect(event).toMatchObject({ action: 'artifacts.upload', actor: 'carol', projectId: null });
  });

  it('paths outside every known layout are for admins', async () => {
    const loose = `loose-${randomUUID()}.txt`;
    await runAsCaller(ADMIN_CALLER, () => artifacts.upload(loose, body('x')));
    expect((await runAsCaller(ADMIN_CALLER, () => artifacts.stat(loose)))?.sizeBytes).toBe(1);
    expect(await refusal(runAsCaller(viewer, () => artifacts.stat(loose)))).toBe('PERMISSION_DENIED');
  });

  it('with auth on and no caller, nothing at all', async () => {
    await expect(artifacts.list({ root: 'p1' })).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });
});
