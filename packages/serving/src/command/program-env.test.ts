import { describe, expect, it } from 'vitest';
import { programEnv } from './program-env.js';

describe('programEnv', () => {
  it('keeps PATH, HOME and LANG of the server only, and adds the manifest env', () => {
    const server = {
      PATH: '/usr/bin',
      HOME: '/home/cairn',
      LANG: 'C.UTF-8',
      CAIRN_DATABASE_URL: 'postgres://x',
      AWS_SECRET_ACCESS_KEY: 's',
    };
    expect(programEnv(server, { MODEL_FLAVOR: 'citrus' })).toEqual({
      PATH: '/usr/bin',
      HOME: '/home/cairn',
      LANG: 'C.UTF-8',
      PYTHONUNBUFFERED: '1',
      MODEL_FLAVOR: 'citrus',
    });
  });

  it('lets the manifest override what it inherits and leaves out what the server lacks', () => {
    expect(programEnv({ PATH: '/usr/bin' }, { PATH: '/opt/model/bin', PYTHONUNBUFFERED: '0' })).toEqual({
      PATH: '/opt/model/bin',
      PYTHONUNBUFFERED: '0',
    });
  });
});
