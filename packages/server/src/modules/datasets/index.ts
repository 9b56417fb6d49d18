export { CHUNK_SIZES, chunkStream, ContentChunker, GEAR } from './content-chunker.js';
