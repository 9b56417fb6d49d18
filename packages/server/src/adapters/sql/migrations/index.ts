import type { Migration } from 'kysely';
import * as datasets from './2026_11_27_1500_datasets.js';
import * as governance from './2026_11_27_1200_governance.js';
import * as pipelines from './2026_11_28_0900_pipelines.js';
import * as registryLineage from './2026_11_27_0900_registry_lineage.js';
import * as serving from './2026_11_27_1900_serving.js';
import * as tracking from './2026_11_26_1800_tracking.js';

/** The one forward-only chain for both dialects, in order. Append; never edit or reorder. */
export const MIGRATIONS: Readonly<Record<string, Migration>> = {
  '2026_11_26_1800_tracking': tracking,
  '2026_11_27_0900_registry_lineage': registryLineage,
  '2026_11_27_1200_governance': governance,
  '2026_11_27_1500_datasets': datasets,
  '2026_11_27_1900_serving': serving,
  '2026_11_28_0900_pipelines': pipelines,
};
