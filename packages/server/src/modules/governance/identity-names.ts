import { CairnError } from '@cairn/contract';
import { isRole, ROLES, type Role } from './roles.js';

// Lower case only, so `Alice` and `alice` can never be two people, and names
// are safe in URLs, audit filters and shell commands without quoting.
const USER_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const PROJECT_ID = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const MAX_TEXT = 200;
const MAX_DESCRIPTION = 10_000;

/** Names that would read as someone else in the audit trail. */
const RESERVED_USER_NAMES = new Set(['local', 'system', 'anonymous']);

const shown = (value: unknown): string => JSON.stringify(String(value).slice(0, 80));

export function checkUserName(name: unknown, field = 'name'): string {
  if (typeof name !== 'string' || !USER_NAME.test(name)) {
    throw new CairnError(
      'INVALID_ARGUMENT',
      `${field} ${shown(name)} is not a user name: use 1-64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit.`,
      { field },
    );
  }
  return name;
}

export function checkNewUserName(name: unknown): string {
  const checked = checkUserName(name);
  if (RESERVED_USER_NAMES.has(checked)) {
    throw new CairnError(
      'INVALID_ARGUMENT',
      `"${checked}" is reserved for Cairn's own actors; pick another name.`,
      {
        field: 'name',
      },
    );
  }
  return checked;
}

export function checkProjectId(id: unknown, field = 'id'): string {
  if (typeof id !== 'string' || !PROJECT_ID.test(id)) {
    throw new CairnError(
      'INVALID_ARGUMENT',
      `${field} ${shown(id)} is not a project id: use 1-63 lower-case letters, digits, '_' or '-', starting with a letter or digit.`,
      { field },
    );
  }
  return id;
}

export function checkRole(role: unknown): Role {
  if (!isRole(role)) {
    throw new CairnError('INVALID_ARGUMENT', `role ${shown(role)} is not one of ${ROLES.join(', ')}.`, {
      field: 'role',
    });
  }
  return role;
}

/** Free text of a bounded length with no control characters (display names, token names). */
export function checkText(value: unknown, options: { field: string; max?: number }): string {
  const max = options.max ?? MAX_TEXT;
  // eslint-disable-next-line no-control-regex
  if (typeof value !== 'string' || value.length > max || /[\u0000-\u001f\u007f]/.test(value)) {
    throw new CairnError(
      'INVALID_ARGUMENT',
      `${options.field} must be text of at most ${max} characters without control characters.`,
      { field: options.field },
    );
  }
  return value;
}

export function checkDescription(value: unknown): string {
  if (typeof value !== 'string' || value.length > MAX_DESCRIPTION) {
    throw new CairnError(
      'INVALID_ARGUMENT',
      `description must be text of at most ${MAX_DESCRIPTION} characters.`,
      {
        field: 'description',
      },
    );
  }
  return value;
}

const EMAIL = /^[^\s@]+@[^\s@]+$/;

export function checkEmail(value: unknown): string {
  const text = checkText(value, { field: 'email' });
  if (text !== '' && !EMAIL.test(text)) {
    throw new CairnError('INVALID_ARGUMENT', `email ${shown(text)} is not an e-mail address.`, {
      field: 'email',
    });
  }
  return text;
}
