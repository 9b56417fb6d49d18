import { CairnError } from '@cairn/contract';

const MAX_PATH_LENGTH = 4096;

/**
 * Normalises an artifact path given by a client into `a/b/c` form. A path that
 * could escape its root (`..`, absolute, drive letters), or carries NUL or
 * control characters, is refused rather than cleaned, so a hostile name never
 * reaches storage under another meaning. The empty string is the root.
 */
export function normalizeArtifactPath(raw: unknown, field = 'path'): string {
  if (raw === undefined || raw === null) return '';
  if (typeof raw !== 'string') {
    throw new CairnError('INVALID_ARGUMENT', `${field} must be a string`, { field });
  }
  if (raw.length > MAX_PATH_LENGTH) {
    throw new CairnError('INVALID_ARGUMENT', `${field} is longer than ${MAX_PATH_LENGTH} characters`, {
      field,
    });
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(raw)) {
    throw new CairnError('INVALID_ARGUMENT', `${field} must not contain NUL or control characters`, {
      field,
    });
  }
  if (raw.startsWith('/') || raw.startsWith('\\') || /^[A-Za-z]:/.test(raw)) {
    throw new CairnError('INVALID_ARGUMENT', `${field} "${raw}" must be relative, not absolute`, { field });
  }
  if (raw.includes('\\')) {
    throw new CairnError('INVALID_ARGUMENT', `${field} "${raw}" must use "/" as the separator`, { field });
  }
  const parts = raw.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) {
    throw new CairnError('INVALID_ARGUMENT', `${field} "${raw}" must not contain ".." segments`, { field });
  }
  return parts.join('/');
}

export function joinArtifactPath(...parts: string[]): string {
  return parts.filter((part) => part !== '').join('/');
}

export function parentOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash === -1 ? '' : path.slice(0, slash);
}

/** Every folder above a file, nearest last: `a/b/c.txt` → `['a', 'a/b']`. */
export function ancestorsOf(path: string): string[] {
  const parts = path.split('/');
  const result: string[] = [];
  for (let i = 1; i < parts.length; i++) result.push(parts.slice(0, i).join('/'));
  return result;
}

export function baseName(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash === -1 ? path : path.slice(slash + 1);
}
