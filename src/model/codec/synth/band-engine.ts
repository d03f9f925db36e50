/**
 * The band itself: turns one frame of tokens into note events for the
 * instruments (decoded only through layout.ts), and renders a chunk of
 * samples of all of them through the mix, the reverb and the limiter.
 *
 * Determinism rule: anything that changes what is computed (note starts,
 * dampers, dropping faded voices, flushing filter states, idling buses) is
 * decided only at frame starts, which fall on the same samples however a
 * caller blocks its reads. Inside a frame every voice runs sample by sample
 * from its own state, so rendering a frame in one piece or in many gives
 * the same numbers.
 */

import { Codebook, decodeBass, decodeDrums, decodeHarmony, decodeMelody } from '../../tinyband/layout.js';
import { Bass } from './bass.js';
import { Buses, GROUP_COUNT, Group, HALF_GROUP_COUNT, HalfGroup, placement, setPlacement } from './buses.js';
import { DrumKit } from './drums.js';
import { drumHits, streamStrike, strum } from './dynamics.js';
import { Guitar } from './guitar.js';
import { Limiter } from './limiter.js';
import type { ResolvedMix } from './mix.js';
import { Piano, Stream } from './piano.js';
import { Reverb } from './reverb.js';
import { StemMaster } from './stem-master.js';
import { accentAt, guitarVoicing, pianoVoicing } from './voicing.js';

/** Calibrated levels and reverb sends of the melodic instruments (drums have their own per voice). */
const BASS_LEVEL = 0.62;
const PIANO_LEVEL = 0.72;
const GUITAR_LEVEL = 0.65;
const PIANO_SEND = 0.2;
const GUITAR_SEND = 0.17;
const REVERB_WET = 0.15;
/** Headroom before the limiter: a dense full-band passage peaks a little under full scale. */
const MASTER = 0.56;

/** Damper times, seconds: short enough to articulate, long enough not to click. */
const PIANO_CHORD_DAMP = 0.09;
const PIANO_MELODY_DAMP = 0.07;
const GUITAR_CHORD_DAMP = 0.05;
const GUITAR_MELODY_DAMP = 0.04;
/** Piano chords are rolled very slightly, guitar chords strummed. */
const PIANO_ROLL_S = 0.0035;
const GUITAR_STRUM_S = 0.011;

/** Frames a bus keeps being processed after its last voice, so the interpolator settles to zero. */
const BUS_HANGOVER = 2;

export class BandEngine {
  private readonly buses = new Buses();
  private readonly kit: DrumKit;
  private readonly bass: Bass;
  private readonly piano: Piano;
  private readonly guitar: Guitar;
  private readonly reverb: Reverb;
  private readonly limiter: Limiter;
  /** Left, right and send gain of every drum group and every tonal group. */
  private readonly drumGains = new Float64Array(GROUP_COUNT * 3);
  private readonly tonalGains = new Float64Array(HALF_GROUP_COUNT * 3);
  private readonly jitter = [0, 0, 0, 0, 0, 0];
  private bassLive = 0;
  private pianoLive = 0;
  private guitarLive = 0;
  /** Stems renders only: the per-instrument master section. */
  private readonly stems: StemMaster | null;

  /** `stems`: render with renderStems (each instrument on its own pair) instead of render. */
  constructor(sampleRate: number, mix: ResolvedMix, stems = false) {
    this.kit = new DrumKit(sampleRate, mix.drums.gain);
    // The tonal instruments run at half rate (see buses.ts).
    this.bass = new Bass(sampleRate / 2);
    this.piano = new Piano(sampleRate / 2);
    this.guitar = new Guitar(sampleRate / 2);
    this.reverb = new Reverb(sampleRate, REVERB_WET);
    this.limiter = new Limiter(sampleRate);
    this.stems = stems ? new StemMaster(sampleRate, REVERB_WET, this.buses.drums) : null;
    const drums = DrumKit.placements(mix.drums.pan);
    setPlacement(this.drumGains, Group.Kick, drums.kick);
    setPlacement(this.drumGains, Group.Snare, drums.snare);
    setPlacement(this.drumGains, Group.Hats, drums.hats);
    setPlacement(this.drumGains, Group.Cymbals, drums.cymbals);
    setPlacement(this.tonalGains, HalfGroup.Bass, placement(BASS_LEVEL * mix.bass.gain, mix.bass.pan, 0));
    setPlacement(this.tonalGains, HalfGroup.Piano, placement(PIANO_LEVEL * mix.piano.gain, mix.piano.pan, PIANO_SEND));
    setPlacement(this.tonalGains, HalfGroup.Guitar, placement(GUITAR_LEVEL * mix.guitar.gain, mix.guitar.pan, GUITAR_SEND));
  }

  /** Starts frame `frameIndex` (counted from the synth's start) with these token ids; `seam`: a loop starts again here. */
  startFrame(tokens: readonly number[], frameIndex: number, seam = false): void {
    this.kit.cull();
    this.piano.cull();
    this.guitar.cull();
    this.reverb.settle();
    this.stems?.settle();

    const accent = accentAt(frameIndex);
    for (const hit of drumHits(frameIndex, decodeDrums(tokens[0]))) this.kit.hit(hit.voice, accent, hit.velocity, hit.seed);

    const bass = decodeBass(tokens[1]);
    if (bass.kind === 'note') this.bass.noteOn(bass.pitch, streamStrike(Codebook.Bass, frameIndex).velocity, seam);
    else if (bass.kind === 'rest') this.bass.rest();

    const chord = decodeHarmony(tokens[2]);
    if (chord.kind !== 'hold') {
      // A rest silences what rings; so does the next strike (the hand moves).
      this.piano.damp(Stream.Harmony, PIANO_CHORD_DAMP);
      this.guitar.damp(Stream.Harmony, GUITAR_CHORD_DAMP);
    }
    if (chord.kind === 'strike') {
      const { velocity: vel, rng } = streamStrike(Codebook.Harmony, frameIndex);
      const seed = rng.nextUint32();
      if (chord.instrument === 'piano') {
        this.piano.play(pianoVoicing(chord.root, chord.quality), vel, Stream.Harmony, PIANO_ROLL_S * (0.6 + 0.8 * rng.next()), seed);
      } else {
        for (let i = 0; i < this.jitter.length; i++) this.jitter[i] = rng.next();
        const stroke = strum(vel, frameIndex);
        this.guitar.play(guitarVoicing(chord.root, chord.quality), stroke.velocity, Stream.Harmony, stroke.down ? GUITAR_STRUM_S : GUITAR_STRUM_S * 0.7, stroke.down, this.jitter, seed);
      }
    }

    const melody = decodeMelody(tokens[3]);
    if (melody.kind !== 'hold') {
      this.piano.damp(Stream.Melody, PIANO_MELODY_DAMP);
      this.guitar.damp(Stream.Melody, GUITAR_MELODY_DAMP);
    }
    if (melody.kind === 'note') {
      const { velocity: vel, rng } = streamStrike(Codebook.Melody, frameIndex);
      const seed = rng.nextUint32();
      if (melody.instrument === 'piano') this.piano.play([melody.pitch], vel, Stream.Melody, 0, seed);
      else {
        this.jitter[0] = rng.next();
        this.guitar.play([melody.pitch], vel, Stream.Melody, 0, true, this.jitter, seed);
      }
    }

    this.bassLive = this.bass.active ? BUS_HANGOVER : Math.max(0, this.bassLive - 1);
    this.pianoLive = this.piano.active ? BUS_HANGOVER : Math.max(0, this.pianoLive - 1);
    this.guitarLive = this.guitar.active ? BUS_HANGOVER : Math.max(0, this.guitarLive - 1);
  }

  /** Renders n (<= MAX_CHUNK) samples of the current frame into outL/outR from `offset`. */
  render(outL: Float32Array, outR: Float32Array, offset: number, n: number): void {
    // The drum mixer's outputs are the master buses: the tonal groups and the
    // reverb add onto them before the limiter.
    const drums = this.buses.drums;
    const steps = this.renderVoices(n);
    if (steps >= 0) this.buses.half.mixUp(steps, n, this.tonalGains, drums.left, drums.right, drums.send);
    else this.buses.half.skip(n);
    this.reverb.process(drums.send, drums.left, drums.right, n);
    this.limiter.process(drums.left, drums.right, n, MASTER, outL, outR, offset);
  }

  /**
   * Renders n samples of every voice onto its group bus and mixes the drum
   * groups down; returns the half-rate steps the tonal groups took, or -1
   * when none is live (their buses are then to be skipped).
   */
  private renderVoices(n: number): number {
    const drums = this.buses.drums;
    this.kit.render(drums, n);
    drums.mixDown(n, this.drumGains);
    if (this.bassLive === 0 && this.pianoLive === 0 && this.guitarLive === 0) return -1;
    const half = this.buses.half;
    const steps = half.stepsIn(n);
    const env = this.buses.env;
    if (this.bassLive > 0) this.bass.render(half.open(HalfGroup.Bass, steps), env, steps);
    if (this.pianoLive > 0) this.piano.render(half.open(HalfGroup.Piano, steps), env, steps);
    if (this.guitarLive > 0) this.guitar.render(half.open(HalfGroup.Guitar, steps), env, steps);
    return steps;
  }

  /**
   * Stems: renders n (<= MAX_CHUNK) samples of the current frame into `out`
   * from `offset`: the mix on channels 0-1, then each instrument on its own
   * pair in INSTRUMENTS order (see stem-master.ts for how they relate).
   */
  renderStems(out: readonly Float32Array[], offset: number, n: number): void {
    const stems = this.stems;
    if (stems === null) throw new Error('renderStems needs a BandEngine made with stems');
    const steps = this.renderVoices(n);
    if (steps >= 0) this.buses.half.mixUpEach(steps, n, this.tonalGains, stems.tonal);
    else this.buses.half.skipEach(n, stems.tonal);
    stems.finish(n, MASTER, this.limiter, out, offset);
  }

  reset(): void {
    this.stems?.reset();
    this.kit.reset();
    this.bass.reset();
    this.piano.reset();
    this.guitar.reset();
    this.reverb.reset();
    this.limiter.reset();
    this.buses.half.reset();
    this.bassLive = 0;
    this.pianoLive = 0;
    this.guitarLive = 0;
  }
}
