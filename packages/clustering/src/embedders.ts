import {
  CLASSICAL_CLUSTER_THRESHOLD,
  CLASSICAL_MODEL_VERSION,
  createClassicalEmbedder,
} from './classical-embedder.js';
import { EmbedderPoolError } from './errors.js';
import { MOBILENET_CLUSTER_THRESHOLD, mobileNetModelVersion } from './mobilenet-config.js';
import type { Embedder } from './types.js';

/** Embedders this package ships. */
export const EMBEDDER_NAMES = ['classic', 'mobilenet'] as const;
export type EmbedderName = (typeof EMBEDDER_NAMES)[number];
/** An embedder name, or 'default' for {@link DEFAULT_EMBEDDER}. */
export type EmbedderChoice = EmbedderName | 'default';

/**
 * The default, chosen by `pnpm bench clustering` (quality first, then photos/s): see README.
 * 'classic' reaches ARI 1.0 on the labelled set at ~20x the CNN's speed.
 */
export const DEFAULT_EMBEDDER: EmbedderName = 'classic';

export interface EmbedderSpec {
  readonly name: EmbedderName;
  readonly modelVersion: string;
  readonly clusterThreshold: number;
  create(): Promise<Embedder>;
}

const SPECS: Readonly<Record<EmbedderName, EmbedderSpec>> = {
  classic: {
    name: 'classic',
    modelVersion: CLASSICAL_MODEL_VERSION,
    clusterThreshold: CLASSICAL_CLUSTER_THRESHOLD,
    create: async () => createClassicalEmbedder(),
  },
  mobilenet: {
    name: 'mobilenet',
    modelVersion: mobileNetModelVersion(),
    clusterThreshold: MOBILENET_CLUSTER_THRESHOLD,
    // Loaded on demand: tfjs and the weights cost ~150 MB and are useless to the classic embedder.
    create: async () => (await import('./mobilenet-embedder.js')).createMobileNetEmbedder(),
  },
};

/**
 * Name, model version and tuned cluster threshold of an embedder, without loading it.
 * @throws EmbedderPoolError CLUSTERING_UNKNOWN_EMBEDDER
 */
export function embedderSpec(choice: string = 'default'): EmbedderSpec {
  const name = choice === 'default' ? DEFAULT_EMBEDDER : choice;
  if (!(EMBEDDER_NAMES as readonly string[]).includes(name)) {
    throw new EmbedderPoolError(
      'CLUSTERING_UNKNOWN_EMBEDDER',
      `unknown embedder "${choice}"; expected one of default, ${EMBEDDER_NAMES.join(', ')}`,
    );
  }
  return SPECS[name as EmbedderName];
}

/** Creates an embedder on the calling thread (the pool runs one per worker thread). */
export function createEmbedder(choice: string = 'default'): Promise<Embedder> {
  return embedderSpec(choice).create();
}
