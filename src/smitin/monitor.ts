/**
 * SMITIN's self-monitor (docs/architecture.md, SMITIN as implemented): the probes read the model's own head
 * outputs while it generates. C_f, the median probe probability over the
 * feature's most accurate heads, says how present the feature already is.
 * While it is below tau_f the push goes on with a gain that decays as
 * (1 - C_f); once it reaches tau_f the push stops. Pushing a feature away
 * (negative strength) mirrors it: the monitor tracks absence, 1 - C_f.
 *
 * Hysteresis: stopped, the push resumes only when C_f falls below
 * tau_f - hysteresis, so a value hovering at the threshold does not switch
 * the push on and off every step (chatter is audible as a stutter).
 *
 * A floor (steerer.ts, gainFloors) keeps the gain at or above it whether
 * or not the state is reached: the push never stops while the knob is
 * off centre.
 */
export interface MonitorRule {
  /** tau_f: median(acc) - std(acc) over the heads. */
  threshold: number;
  hysteresis: number;
  /** The least gain while the knob is off centre, reached or not (0: the paper's monitor, which stops the push). */
  floor?: number;
}

export interface MonitorDecision {
  /** Whether the push is on after this reading. */
  active: boolean;
  /** The factor the push is multiplied by: 1 - (how much of the wanted state is there), 0 when off. */
  gain: number;
}

/**
 * One monitor update. `c` is C_f in [0, 1]; `toward` is true when the
 * feature is pushed in (positive strength), false when pushed out.
 */
export function monitorStep(active: boolean, c: number, toward: boolean, rule: MonitorRule): MonitorDecision {
  if (!(c >= 0 && c <= 1)) throw new RangeError(`monitor value must be in [0, 1], got: ${c}`);
  const reached = toward ? c : 1 - c;
  const on = active ? reached < rule.threshold : reached < rule.threshold - rule.hysteresis;
  const floor = rule.floor ?? 0;
  return { active: on, gain: on ? Math.max(floor, 1 - reached) : floor };
}

/** tau_f from the heads' validation accuracies: median - std (the paper's rule). */
export function monitorThreshold(accuracy: ArrayLike<number>): number {
  const a = Float64Array.from(accuracy);
  const n = a.length;
  if (n === 0) throw new RangeError('monitorThreshold needs at least one accuracy');
  const mean = a.reduce((s, x) => s + x, 0) / n;
  const std = Math.sqrt(a.reduce((s, x) => s + (x - mean) ** 2, 0) / n);
  return median(a) - std;
}

/** The median of `values` (the monitor's robust pooling over heads). */
export function median(values: Float64Array): number {
  const a = values.slice().sort();
  const n = a.length;
  return n % 2 ? a[(n - 1) / 2] : (a[n / 2 - 1] + a[n / 2]) / 2;
}
