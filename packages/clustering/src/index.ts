export {
  CLASSICAL_MODEL_VERSION,
  classicalBlocks,
  combineBlocks,
  createClassicalEmbedder,
} from './classical-embedder.js';
export {
  type ClusterOptions,
  cluster,
  compareIds,
  cosineDistances,
  DEFAULT_CLUSTER_THRESHOLD,
  type Linkage,
} from './cluster.js';
export { type DecodeOptions, decodePhoto, WORK_SIZE } from './decode-photo.js';
export {
  type EmbeddedPhoto,
  type EmbedPhotosOptions,
  embedPhotos,
  type PhotoFailure,
  type PhotoProcessor,
} from './embed-photos.js';
export {
  createEmbedderPool,
  type EmbedderPool,
  type EmbedderPoolOptions,
  type ProcessedPhoto,
  type ProcessOptions,
} from './embedder-pool.js';
export {
  createEmbedder,
  DEFAULT_EMBEDDER,
  EMBEDDER_NAMES,
  type EmbedderChoice,
  type EmbedderName,
  type EmbedderSpec,
  embedderSpec,
} from './embedders.js';
export { EmbedderPoolError, type EmbedderPoolErrorCode } from './errors.js';
export { adjustedRandIndex } from './evaluate.js';
export { MOBILENET_DEFAULTS, type MobileNetOptions, mobileNetModelVersion } from './mobilenet-config.js';
export { scoreQuality } from './quality.js';
export { type SelectHeroesOptions, selectHeroes } from './select-heroes.js';
export type {
  DecodedImage,
  Embedder,
  EmbeddingInput,
  Group,
  HeroGroup,
  QualityScore,
  Raster,
} from './types.js';
