/**
 * A knob's travel (0..1) to a target value and back, through a curve and a
 * range. Pure functions: the mapping stage maps knobs with them and the
 * value echo inverts them to set a controller's LED ring.
 *
 * Bipolar ranges (min < 0 < max) put 0 at the knob's centre and apply the
 * curve to each half from the centre outwards, so an exponential curve gives
 * fine control around "leave the music alone" on both sides. A 7-bit knob
 * has no exact centre (63 and 64 straddle it), so both read as 0.
 */
import type { Curve } from './presets.js';

export interface Scale {
  min: number;
  max: number;
  curve: Curve;
}

/** Steepness of the exponential/logarithmic curves: e^4 ~ 55:1 from the start to the end of the travel. */
const EXP_K = 4;
/** Half a 7-bit step either side of the centre reads as exactly 0. */
const CENTRE_DETENT = 1 / 127;

export function applyCurve(x: number, curve: Curve): number {
  const u = Math.min(1, Math.max(0, x));
  if (curve === 'linear') return u;
  if (curve === 'exponential') return Math.expm1(EXP_K * u) / Math.expm1(EXP_K);
  if (curve === 'logarithmic') return Math.log1p(Math.expm1(EXP_K) * u) / EXP_K;
  return u ** curve.gamma;
}

export function invertCurve(y: number, curve: Curve): number {
  const v = Math.min(1, Math.max(0, y));
  if (curve === 'linear') return v;
  if (curve === 'exponential') return Math.log1p(Math.expm1(EXP_K) * v) / EXP_K;
  if (curve === 'logarithmic') return Math.expm1(EXP_K * v) / Math.expm1(EXP_K);
  return v ** (1 / curve.gamma);
}

export function isBipolar(scale: Scale): boolean {
  return scale.min < 0 && scale.max > 0;
}

/** Knob position 0..1 -> value in [min, max]. */
export function knobToValue(position: number, scale: Scale): number {
  const x = Math.min(1, Math.max(0, position));
  if (!isBipolar(scale)) return scale.min + (scale.max - scale.min) * applyCurve(x, scale.curve);
  const u = 2 * x - 1;
  if (Math.abs(u) <= CENTRE_DETENT + 1e-9) return 0;
  const y = applyCurve(Math.abs(u), scale.curve);
  return u > 0 ? y * scale.max : y * scale.min;
}

/** Value -> knob position 0..1 (the inverse of knobToValue, clamped to the range). */
export function valueToKnob(value: number, scale: Scale): number {
  if (!isBipolar(scale)) {
    const t = (value - scale.min) / (scale.max - scale.min);
    return invertCurve(t, scale.curve);
  }
  if (value === 0) return 0.5;
  const y = value > 0 ? value / scale.max : value / scale.min;
  const u = invertCurve(y, scale.curve);
  return value > 0 ? (1 + u) / 2 : (1 - u) / 2;
}
