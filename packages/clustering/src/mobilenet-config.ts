// Options and identity of the MobileNet embedder, kept apart so that naming it does not load tfjs.

export interface MobileNetOptions {
  /**
   * Layer whose activations are average-pooled into the embedding. Blocks up to 10 are the
   * frozen ImageNet MobileNetV2 (nsfwjs fine-tuned only blocks 11 and up).
   * @defaultValue 'block_13_expand_relu' (576 channels at 14 x 14)
   */
  layer?: string;
  /**
   * Also embed the mirrored image and average, so a flipped shot gets the same vector (2x cost).
   * @defaultValue true
   */
  mirrorAverage?: boolean;
  /**
   * Side of the square network input; the layers are fully convolutional before pooling.
   * @defaultValue 224
   */
  inputSize?: number;
  /**
   * Pixel scaling: 'unit' feeds RGB / 255 as nsfwjs does for its classifier; 'symmetric' feeds
   * [-1, 1], what the ImageNet MobileNetV2 trunk (frozen up to block 10) was trained on.
   * @defaultValue 'symmetric'
   */
  scaling?: 'unit' | 'symmetric';
  /**
   * Pool over the whole map only ('global'), or also over 3 row bands x (centre, sides) cells,
   * which keeps the coarse layout and stays mirror-invariant ('grid').
   * @defaultValue 'grid'
   */
  pooling?: 'global' | 'grid';
  /** Overrides {@link MOBILENET_CLUSTER_THRESHOLD} (e.g. for another layer). */
  clusterThreshold?: number;
}

const NSFWJS_VERSION = '4.4.0';

/** The configuration measured best on the labelled set (see README). */
export const MOBILENET_DEFAULTS: Required<Omit<MobileNetOptions, 'clusterThreshold'>> = {
  layer: 'block_13_expand_relu',
  mirrorAverage: true,
  inputSize: 224,
  scaling: 'symmetric',
  pooling: 'grid',
};

/**
 * Average-linkage threshold for {@link MOBILENET_DEFAULTS}: the geometric middle of the plateau
 * [0.030, 0.0525] where the labelled set scores its best ARI (0.947; it never separates the two
 * blurred textures, grass-06 and gravel-06).
 */
export const MOBILENET_CLUSTER_THRESHOLD = 0.04;

/** Names the model, its weights' package version and the preprocessing (a metric label value). */
export function mobileNetModelVersion(opts: MobileNetOptions = {}): string {
  const o = { ...MOBILENET_DEFAULTS, ...opts };
  return [
    `mobilenetv2-nsfwjs${NSFWJS_VERSION}`,
    o.layer,
    `${o.inputSize}px`,
    o.scaling,
    o.pooling,
    o.mirrorAverage ? 'mirror' : 'nomirror',
  ].join('-');
}
