export type { PromotionStore, PromotionStores } from './promotion.store.js';
