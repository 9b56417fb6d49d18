import { isCairnError, parseDatasetRef, type DatasetReference } from '@cairn/sdk';
import { UsageError } from '../output/errors.js';

/** `NAME`, `NAME@3`, `NAME@alias` or `NAME@latest`; a malformed one is a usage error (exit 2). */
export function datasetRef(text: string): DatasetReference {
  try {
    return parseDatasetRef(text);
  } catch (error) {
    if (isCairnError(error)) throw new UsageError(error.message);
    throw error;
  }
}
