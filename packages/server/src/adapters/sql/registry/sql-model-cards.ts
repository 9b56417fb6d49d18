import type { Kysely } from 'kysely';
import type { ModelCardFields } from '../../../modules/registry/entities.js';
import type { Database } from '../schema.js';
import { toCard, toCardRow } from './registry-row-mappers.js';

/** One card per version, replaced whole on every write. */
export async function getCard(
  db: Kysely<Database>,
  versionId: string,
): Promise<(ModelCardFields & { updatedAt: number; updatedBy: string }) | undefined> {
  const row = await db
    .selectFrom('model_cards')
    .selectAll()
    .where('version_id', '=', versionId)
    .executeTakeFirst();
  return row === undefined ? undefined : toCard(row);
}

export async function putCard(
  db: Kysely<Database>,
  input: { versionId: string; card: ModelCardFields; at: number; actor: string },
): Promise<void> {
  const { version_id: _key, ...fields } = toCardRow(input.versionId, input.card, input);
  await db
    .insertInto('model_cards')
    .values({ version_id: input.versionId, ...fields })
    .onConflict((oc) => oc.column('version_id').doUpdateSet(fields))
    .execute();
}
