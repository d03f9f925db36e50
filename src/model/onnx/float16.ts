/** IEEE 754 half-precision bits (how onnxruntime-node hands out float16 tensors) to float32. */

const EXP_TABLE = new Float32Array(32);
for (let e = 0; e < 32; e++) EXP_TABLE[e] = 2 ** (e - 15);

export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // subnormal
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * EXP_TABLE[exp] * (1 + frac / 1024);
}

/** Converts `src` (float16 bits) into `out` (same length or longer); returns out. */
export function halfToFloat32(src: Uint16Array, out: Float32Array = new Float32Array(src.length)): Float32Array {
  for (let i = 0; i < src.length; i++) out[i] = halfToFloat(src[i]);
  return out;
}
