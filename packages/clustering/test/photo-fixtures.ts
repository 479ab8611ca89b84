import { PHOTO_FIXTURES_DIR, readPhotoFixture, readPhotoManifest } from '@media-cluster/testkit';

/** The labelled test photos shipped in testkit (or PHOTOS_DIR). */
export const PHOTOS_DIR = PHOTO_FIXTURES_DIR;

export interface ClusterFile {
  file: string;
  group: string;
  variant: string;
  sharp: boolean;
  width: number;
  height: number;
  sha256: string;
}

export interface ClusterManifest {
  groups: Record<string, { files: string[]; not_hero: { file: string; variant: string }[] }>;
  files: ClusterFile[];
}

/** A manifest file's bytes, checked against its sha256. */
export const readChecked = readPhotoFixture;

export const clusterManifest = (): ClusterManifest => readPhotoManifest('clusters/manifest.json');

/** Deterministic Fisher-Yates shuffle (mulberry32), so a failing order can be replayed. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let s = seed >>> 0;
  const random = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
