/** Bounds that keep memory and work finite whatever the file says. */
export interface OnnxLimits {
  /** Graph inputs plus outputs read (before initializers are filtered out). */
  maxValues: number;
  maxInitializers: number;
  maxOpsets: number;
  /** Further metadata entries are skipped. */
  maxMetadataEntries: number;
  /** Names (values, dims, opset domains); a longer one is refused. */
  maxNameBytes: number;
  /** Producer, domain and metadata keys and values; longer ones are truncated. */
  maxTextBytes: number;
  maxDocStringBytes: number;
  maxRank: number;
  maxTypeDepth: number;
  /** Everything kept while parsing (names, dims, metadata); beyond it the model is refused. */
  maxRetainedBytes: number;
}

export const ONNX_LIMITS: Readonly<OnnxLimits> = Object.freeze({
  maxValues: 100_000,
  maxInitializers: 1_000_000,
  maxOpsets: 1_000,
  maxMetadataEntries: 1_000,
  maxNameBytes: 4096,
  maxTextBytes: 16 * 1024,
  maxDocStringBytes: 4096,
  maxRank: 1024,
  maxTypeDepth: 16,
  maxRetainedBytes: 32 * 1024 * 1024,
});
