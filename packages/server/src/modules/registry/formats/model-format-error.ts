const MODEL_FORMAT_ERROR_KIND = 'cairn.model-format-error' as const;

/**
 * A model file is not what it claims to be. Raised by the format readers only for problems in the bytes
 * or text they were given; I/O failures of the source pass through untouched, so a caller can tell a
 * corrupt model (register as opaque, or refuse) from a storage outage (retry).
 */
export class ModelFormatError extends Error {
  readonly kind = MODEL_FORMAT_ERROR_KIND;
  /** Byte offset in the file where the problem was found, when the reader knows it. */
  readonly offset: number | undefined;

  constructor(message: string, offset?: number) {
    super(offset === undefined ? message : `${message} (at byte ${offset})`);
    this.name = 'ModelFormatError';
    this.offset = offset;
  }
}

/** Checked by brand rather than `instanceof`, like CairnError, so two copies of the module still agree. */
export function isModelFormatError(value: unknown): value is ModelFormatError {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { kind?: unknown }).kind === MODEL_FORMAT_ERROR_KIND
  );
}
