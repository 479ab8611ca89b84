// Messages between the embedder pool and its worker threads (internal).
import type { QualityScore } from './types.js';

export interface PoolWorkerData {
  embedder: string;
  maxPixels: number;
}

export interface TaskRequest {
  id: number;
  bytes: Uint8Array;
}

export interface TaskSuccess {
  id: number;
  ok: true;
  vector: Float32Array;
  quality: QualityScore;
  width: number;
  height: number;
  timings: { decodeMs: number; embedMs: number; qualityMs: number };
}

export interface TaskFailure {
  id: number;
  ok: false;
  /** `reason`: a photo rejection's (`@media-cluster/photo`). */
  error: { name: string; code?: string; reason?: string; message: string };
}

export type TaskResponse = TaskSuccess | TaskFailure;
