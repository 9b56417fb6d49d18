import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENV_VARS } from './env-vars.js';
import { loadConfig } from './load-config.js';

const tmp = (): string => mkdtempSync(path.join(os.tmpdir(), 'cairn-config-'));

describe('loadConfig', () => {
  it('defaults to 127.0.0.1:5000 with SQLite and blobs under ./.cairn', () => {
    const cwd = tmp();
    const config = loadConfig({ cwd, env: {} });
    expect(config.host).toBe('127.0.0.1');
    expect(config.port).toBe(5000);
    expect(config.dbUrl).toBe(`sqlite:${path.join(cwd, '.cairn', 'cairn.db')}`);
    expect(config.blobUrl).toBe(`file:${path.join(cwd, '.cairn', 'blobs')}`);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.s3)).toBe(true);
  });

  it('takes flags over env over cairn.config.json over defaults', () => {
    const cwd = tmp();
    writeFileSync(
      path.join(cwd, 'cairn.config.json'),
      JSON.stringify({ port: 7000, host: '::1', logLevel: 'warn' }),
    );
    const fileOnly = loadConfig({ cwd, env: {} });
    expect(fileOnly.port).toBe(7000);
    expect(fileOnly.host).toBe('::1');
    const withEnv = loadConfig({ cwd, env: { CAIRN_PORT: '7001' } });
    expect(withEnv.port).toBe(7001);
    const withFlag = loadConfig({ cwd, env: { CAIRN_PORT: '7001' }, flags: { port: '7002' } });
    expect(withFlag.port).toBe(7002);
    expect(withFlag.logLevel).toBe('warn');
  });

  it('reads governance settings: auth off by default, retention never below the minimum', () => {
    const cwd = tmp();
    const plain = loadConfig({ cwd, env: {} });
    expect(plain.auth).toEqual({ enabled: false, adminToken: undefined });
    expect(plain.audit).toEqual({
      retentionDays: undefined,
      minRetentionDays: 180,
      keyFile: path.join(cwd, '.cairn', 'audit-signing-key.pem'),
      checkpointMinutes: 60,
    });
    expect(loadConfig({ cwd, env: { CAIRN_AUDIT_CHECKPOINT_MINUTES: '0' } }).audit.checkpointMinutes).toBe(0);
    const on = loadConfig({
      cwd,
      env: { CAIRN_AUTH: 'true', CAIRN_ADMIN_TOKEN: 'a'.repeat(32), CAIRN_AUDIT_RETENTION_DAYS: '400' },
    });
    expect(on.auth).toEqual({ enabled: true, adminToken: 'a'.repeat(32) });
    expect(on.audit.retentionDays).toBe(400);
    expect(loadConfig({ cwd, env: {}, flags: { auth: 'yes' } }).auth.enabled).toBe(true);
  });

  it.each([
    [{ CAIRN_AUTH: 'maybe' }, /CAIRN_AUTH must be true or false/],
    [{ CAIRN_ADMIN_TOKEN: 'short' }, /at least 32 characters/],
    [{ CAIRN_AUDIT_RETENTION_DAYS: '30' }, /below the audit minimum retention of 180 days/],
    [
      { CAIRN_AUDIT_RETENTION_DAYS: '100', CAIRN_AUDIT_MIN_RETENTION_DAYS: '365' },
      /below the audit minimum retention of 365 days/,
    ],
    [{ CAIRN_AUDIT_MIN_RETENTION_DAYS: '-1' }, /must be a number of days/],
    [{ CAIRN_AUDIT_RETENTION_DAYS: 'forever' }, /must be a number of days/],
    [{ CAIRN_AUDIT_CHECKPOINT_MINUTES: '-5' }, /must be a number of minutes/],
  ])('refuses %j', (env, message) => {
    expect(() => loadConfig({ cwd: tmp(), env })).toThrow(message);
  });

  it('never takes the admin token from cairn.config.json', () => {
    const cwd = tmp();
    writeFileSync(path.join(cwd, 'cairn.config.json'), JSON.stringify({ adminToken: 'b'.repeat(40) }));
    expect(loadConfig({ cwd, env: {} }).auth.adminToken).toBeUndefined();
  });

  it('derives database and blob paths from --data-dir and keeps explicit URLs', () => {
    const cwd = tmp();
    const config = loadConfig({ cwd, env: {}, flags: { dataDir: 'state' } });
    expect(config.dbUrl).toBe(`sqlite:${path.join(cwd, 'state', 'cairn.db')}`);
    const pg = loadConfig({
      cwd,
      env: {
        CAIRN_DB_URL: 'postgres://u@h:5432/db',
        CAIRN_BLOB_URL: 's3://bucket/prefix',
        CAIRN_S3_ENDPOINT: 'http://127.0.0.1:9000',
      },
    });
    expect(pg.dbUrl).toBe('postgres://u@h:5432/db');
    expect(pg.blobUrl).toBe('s3://bucket/prefix');
    expect(pg.s3).toEqual({ endpoint: 'http://127.0.0.1:9000', region: 'us-east-1', forcePathStyle: true });
  });

  it.each([
    [{ CAIRN_PORT: 'http' }, 'CAIRN_PORT'],
    [{ CAIRN_PORT: '70000' }, 'CAIRN_PORT'],
    [{ CAIRN_LOG_LEVEL: 'loud' }, 'CAIRN_LOG_LEVEL'],
    [{ CAIRN_BODY_LIMIT_MB: '-1' }, 'CAIRN_BODY_LIMIT_MB'],
    [{ CAIRN_S3_FORCE_PATH_STYLE: 'maybe' }, 'CAIRN_S3_FORCE_PATH_STYLE'],
  ])('refuses %o naming the setting', (env, name) => {
    expect(() => loadConfig({ cwd: tmp(), env })).toThrow(name);
  });

  it('refuses an unreadable cairn.config.json with a clear message', () => {
    const cwd = tmp();
    writeFileSync(path.join(cwd, 'cairn.config.json'), '{ not json');
    expect(() => loadConfig({ cwd, env: {} })).toThrow(/cairn.config.json/);
  });

  it('is documented in docs/config.md, every variable', () => {
    const doc = readFileSync(new URL('../../../../docs/config.md', import.meta.url), 'utf8');
    for (const spec of Object.values(ENV_VARS)) expect(doc).toContain(`\`${spec.name}\``);
  });
});
