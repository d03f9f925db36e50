/**
 * MIDI clock as a time source. The DAW sends 24 pulses per quarter note,
 * Start (song position 0), Continue (from the last Song Position Pointer,
 * in 16ths) and Stop. As the MIDI spec has it, the first pulse after Start
 * or Continue is the downbeat of that position, so the transport starts on
 * that pulse's arrival time. The phase comes from the pulses since: a
 * least-squares line through the recent ones (USB and driver jitter
 * averaged out), extrapolated past the last.
 */
import { Subject, type Observable, type Subscription } from 'rxjs';
import { clockToTempo, fitPulses, PULSES_PER_QUARTER } from '../control/clock-tempo.js';
import type { MidiInput } from '../control/midi-source.js';
import { DEFAULT_TEMPO, FRAMES_PER_BEAT } from '../constants.js';
import type { TimeSource, TransportEvent } from './time-source.js';

export type MidiClockStreams = Pick<MidiInput, 'clock$' | 'start$' | 'continue$' | 'stop$' | 'position$'>;

/** Pulses in the phase fit: four beats. */
const FIT_PULSES = 4 * PULSES_PER_QUARTER;

export function midiClockSource(midi: MidiClockStreams, name = 'MIDI clock'): TimeSource {
  const transport$ = new Subject<TransportEvent>();
  const tempo$ = new Subject<number>();
  /** Song position (beats) while stopped: from the pointer, or where the pulses left it. */
  let position = 0;
  /** A start or continue waits for its first pulse. */
  let armed: number | null = null;
  /** While playing: the song position of pulse 0, and the recent pulses (index of the first kept). */
  let run: { beats: number; first: number; times: number[] } | null = null;
  let tempo = DEFAULT_TEMPO;

  const subs: Subscription[] = [
    // 0.02 BPM: a tempo close enough that the phase correction (follow-time.ts) has little left to do
    midi.clock$.pipe(clockToTempo({ window: FIT_PULSES, minChangeBpm: 0.02 })).subscribe((bpm) => tempo$.next((tempo = bpm))),
    midi.clock$.subscribe((t) => {
      if (armed !== null) {
        run = { beats: armed, first: 0, times: [t] };
        transport$.next({ type: 'start', beats: armed, at: t });
        armed = null;
      } else if (run) {
        run.times.push(t);
        if (run.times.length > FIT_PULSES) {
          run.times.shift();
          run.first++;
        }
        position = run.beats + (run.first + run.times.length - 1) / PULSES_PER_QUARTER;
      }
    }),
    midi.start$.subscribe(() => {
      position = 0;
      armed = 0;
    }),
    midi.continue$.subscribe(() => (armed = position)),
    midi.stop$.subscribe(() => {
      armed = null;
      if (!run) return;
      run = null;
      transport$.next({ type: 'stop' });
    }),
    // the pointer counts "MIDI beats", 16th notes
    midi.position$.subscribe((v) => (position = v / FRAMES_PER_BEAT)),
  ];

  return {
    name,
    tempo$: tempo$ as Observable<number>,
    transport$: transport$.asObservable(),
    timeOf: (beats) => {
      if (!run) return null;
      const pulse = (beats - run.beats) * PULSES_PER_QUARTER - run.first;
      // one pulse is no line yet: the tempo known so far
      if (run.times.length < 2) return run.times[0] + (pulse * 60_000) / (tempo * PULSES_PER_QUARTER);
      return fitPulses(run.times).timeOf(pulse);
    },
    close: () => {
      subs.forEach((s) => s.unsubscribe());
      transport$.complete();
      tempo$.complete();
    },
  };
}
