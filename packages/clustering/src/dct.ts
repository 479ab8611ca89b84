/** Cosine basis for an n-point DCT-II, rows = frequency: basis[u * n + x]. */
const bases = new Map<number, Float32Array>();

function basis(n: number): Float32Array {
  let b = bases.get(n);
  if (!b) {
    b = new Float32Array(n * n);
    for (let u = 0; u < n; u++) {
      const scale = u === 0 ? Math.sqrt(1 / n) : Math.sqrt(2 / n);
      for (let x = 0; x < n; x++) b[u * n + x] = scale * Math.cos(((2 * x + 1) * u * Math.PI) / (2 * n));
    }
    bases.set(n, b);
  }
  return b;
}

/**
 * Lowest `keep` x `keep` coefficients of the orthonormal 2D DCT-II of an n x n image:
 * out[v * keep + u], u = horizontal frequency.
 */
export function dctLowFrequencies(pixels: Float32Array, n: number, keep: number): Float32Array {
  const b = basis(n);
  // Rows first: tmp[y][u] = sum_x p[y][x] b[u][x].
  const tmp = new Float32Array(n * keep);
  for (let y = 0; y < n; y++) {
    for (let u = 0; u < keep; u++) {
      let acc = 0;
      for (let x = 0; x < n; x++) acc += pixels[y * n + x]! * b[u * n + x]!;
      tmp[y * keep + u] = acc;
    }
  }
  const out = new Float32Array(keep * keep);
  for (let v = 0; v < keep; v++) {
    for (let u = 0; u < keep; u++) {
      let acc = 0;
      for (let y = 0; y < n; y++) acc += tmp[y * keep + u]! * b[v * n + y]!;
      out[v * keep + u] = acc;
    }
  }
  return out;
}
