import { describe, expect, it } from 'vitest';
import { encodeDrums, REST } from '../../src/model/tinyband/layout.js';
import { EffectWatch, effectOf, type HeardFrame } from '../../src/session/time-to-effect.js';

const DRUMS = 0;
const SPF = 1000; // samples per frame in these tests

/** Frames whose drums hit where `hit(i)` says, everything else resting; frame i starts at ring sample i * SPF. */
function music(length: number, hit: (i: number) => boolean): HeardFrame[] {
  return Array.from({ length }, (_, i) => ({ frame: [hit(i) ? encodeDrums(new Set(['closedHat'] as const)) : REST, REST, REST, REST], position: i * SPF }));
}

describe('time to effect', () => {
  it('in: the first hit heard after the move, in a bar where the drums are present', () => {
    // drums from frame 40 on, every other 16th: bar 2 (frames 32-47) has them in 4 of 16 frames
    const frames = music(120, (i) => i >= 40 && i % 2 === 0);
    expect(effectOf(frames, DRUMS, 34_500, true)).toEqual({ found: true, samples: 40_000 - 34_500 });
  });

  it('in: a stray hit is not the drums coming in; after 4 bars without them the move had no effect', () => {
    const frames = music(120, (i) => i === 38);
    expect(effectOf(frames.slice(0, 60), DRUMS, 34_500, true)).toEqual({ found: false, final: false });
    expect(effectOf(frames, DRUMS, 34_500, true)).toEqual({ found: false, final: true });
  });

  it('out: the start of the first whole bar of silence after the move', () => {
    const frames = music(120, (i) => i <= 46 && i % 2 === 0);
    expect(effectOf(frames, DRUMS, 40_200, false)).toEqual({ found: true, samples: 47_000 - 40_200 });
  });

  it('the watch says waiting, then heard once the effect has been handed out, and counts a sweep as one move', () => {
    const watch = new EffectWatch();
    const frames = music(120, (i) => i >= 40 && i % 2 === 0);
    watch.move('drums', 0.2, 34_500);
    watch.move('drums', 0.9, 36_000); // the same side: still the move at 34_500
    watch.move('minor', 1, 34_500); // not an instrument: not watched
    for (const f of frames.slice(0, 64)) watch.frame(f);
    watch.update(38_500, 4 * SPF);
    expect(watch.effects.drums).toEqual({ direction: 'in', state: 'waiting', beats: 1 });
    expect(watch.effects.minor).toBeUndefined();
    watch.update(40_500, 4 * SPF);
    expect(watch.effects.drums).toEqual({ direction: 'in', state: 'heard', beats: 5500 / 4000 });
    watch.move('drums', -1, 50_000);
    expect(watch.effects.drums.direction).toBe('out');
    expect(watch.effects.drums.state).toBe('waiting');
  });
});
