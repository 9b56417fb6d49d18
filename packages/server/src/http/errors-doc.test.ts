import { readFileSync } from 'node:fs';
import { ERROR_CODES, EXIT_CODE_BY_CODE, HTTP_STATUS_BY_CODE } from '@cairn/contract';
import { describe, expect, it } from 'vitest';
import { MLFLOW_ERROR_BY_CODE } from './error-mapping.js';

const doc = readFileSync(new URL('../../../../docs/errors.md', import.meta.url), 'utf8');

describe('docs/errors.md', () => {
  it('documents every error code with its HTTP status, MLflow code and exit code', () => {
    for (const code of ERROR_CODES) {
      const row = doc.split('\n').find((line) => new RegExp(`^\\|\\s*\`${code}\`\\s*\\|`).test(line));
      expect(row, `row for ${code}`).toBeDefined();
      const cells = (row ?? '').split('|').map((c) => c.trim());
      expect(cells[2]).toBe(String(HTTP_STATUS_BY_CODE[code]));
      expect(cells[3]).toBe(`\`${MLFLOW_ERROR_BY_CODE[code].code}\` (${MLFLOW_ERROR_BY_CODE[code].status})`);
      expect(cells[4]).toBe(String(EXIT_CODE_BY_CODE[code]));
    }
  });

  it('lists no code that does not exist', () => {
    const documented = [...doc.matchAll(/^\|\s*`([A-Z_]+)`\s*\|/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual([...ERROR_CODES].sort());
  });
});
