/** Promotion requests and their reviews. Filled in with the promotions use cases. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface PromotionStore {}

export interface PromotionStores {
  promotions: PromotionStore;
}
