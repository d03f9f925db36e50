/**
 * The model as live plays it, opened the one way live and `smitin check`
 * share: with a probe set, the prepared (steerable) decoder and the probes
 * checked to fit it; without, the folder's own decoder.
 */
import { loadModel } from '../model/families.js';
import type { LoadOptions, MusicgenModel } from '../model/musicgen/index.js';
import { loadSteerableModel } from '../smitin/prepare.js';
import { checkProbesFit, modelIdentity, readProbeSet, type ProbeSet } from '../smitin/probe-set.js';

export async function loadLiveModel(dir: string, probesFile: string | null, load: Pick<LoadOptions, 'dtype' | 'ep' | 'threads'>): Promise<{ model: MusicgenModel; probes: ProbeSet | null }> {
  const model = probesFile ? await loadSteerableModel(dir, load) : await loadModel(dir, load);
  try {
    const probes = probesFile ? readProbeSet(probesFile) : null;
    if (probes) checkProbesFit(probes, modelIdentity(model.spec), probesFile!);
    return { model, probes };
  } catch (err) {
    await model.release();
    throw err;
  }
}
