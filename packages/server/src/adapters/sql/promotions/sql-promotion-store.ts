import type { Kysely, Transaction } from 'kysely';
import type { PromotionStore } from '../../../modules/promotions/index.js';
import type { Database } from '../schema.js';

export class SqlPromotionStore implements PromotionStore {
  constructor(private readonly db: Kysely<Database> | Transaction<Database>) {}
}
