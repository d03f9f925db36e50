/**
 * AbletonOSC (a Live remote script: OSC in on UDP 11000, replies to the
 * asker's host on 11001) as a time source. It asks for Live's beat, tempo
 * and play-state listeners; `/live/song/get/beat <n>` then comes on every
 * beat (and on a jump), `/live/song/get/tempo <bpm>` and
 * `/live/song/get/is_playing <0|1>` on each change. Live fires the beat
 * listener from its song-time tick, so a beat message comes up to a tick
 * (tens of ms) after the beat; a line through the recent beats averages the
 * spread but not the tick's mean lateness, which stays in the offset.
 * Bound to loopback unless asked: nothing from the network names a file,
 * and a malformed message is counted, never thrown.
 */
import dgram from 'node:dgram';
import { Subject } from 'rxjs';
import { fitPulses } from '../control/clock-tempo.js';
import { IssueLog } from '../control/issues.js';
import { OSC, parsePacket, type OscMessage } from '../control/osc-source.js';
import { CONTROL_RANGES, inRange } from '../protocol.js';
import { DEFAULT_TEMPO } from '../constants.js';
import { quoted } from '../util/printable.js';
import type { TimeSource, TransportEvent } from './time-source.js';

export const ABLETONOSC_PORT = 11000;
export const ABLETONOSC_REPLY_PORT = 11001;
const LISTENERS = ['beat', 'tempo', 'is_playing'];
/** Beats in the phase fit. */
const FIT_BEATS = 8;

export interface AbletonOscOptions {
  host?: string;
  /** Where AbletonOSC listens (11000). */
  port?: number;
  /** Where it replies (11001): bound here, on `bindHost`. */
  replyPort?: number;
  bindHost?: string;
  issues?: IssueLog;
}

export async function openAbletonOscSource(options: AbletonOscOptions = {}): Promise<TimeSource> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? ABLETONOSC_PORT;
  const issues = options.issues ?? new IssueLog();
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', (err) => reject(new Error(`cannot listen for AbletonOSC's replies on UDP ${options.bindHost ?? '127.0.0.1'}:${options.replyPort ?? ABLETONOSC_REPLY_PORT} (${err.message})`)));
    socket.bind(options.replyPort ?? ABLETONOSC_REPLY_PORT, options.bindHost ?? '127.0.0.1', () => resolve());
  });
  socket.on('error', (err) => issues.report('sync', 'abletonosc-socket', `AbletonOSC socket: ${err.message}`));
  const ask = (address: string) => socket.send(Buffer.from(new OSC.Message(address).pack()), port, host);

  const transport$ = new Subject<TransportEvent>();
  const tempo$ = new Subject<number>();
  let tempo = DEFAULT_TEMPO;
  /** While playing: consecutive beats and when each came. */
  let run: { first: number; times: number[] } | null = null;
  let playing = false;

  const onBeat = (beat: number, at: number) => {
    const next = run ? run.first + run.times.length : NaN;
    if (run && beat === next) {
      run.times.push(at);
      if (run.times.length > FIT_BEATS) {
        run.times.shift();
        run.first++;
      }
      return;
    }
    // the first beat after a start, or a jump (a locate while playing): the music restarts there
    run = { first: beat, times: [at] };
    playing = true;
    transport$.next({ type: 'start', beats: beat, at });
  };
  const handle = (m: OscMessage, at: number) => {
    const v = m.args[0];
    if (m.address === '/live/song/get/beat' && Number.isInteger(v) && (v as number) >= 0) onBeat(v as number, at);
    else if (m.address === '/live/song/get/tempo' && typeof v === 'number' && inRange(CONTROL_RANGES.tempo, v)) tempo$.next((tempo = v));
    else if (m.address === '/live/song/get/is_playing' && (v === 0 || v === false || v === 1 || v === true)) {
      if ((v === 0 || v === false) && playing) {
        playing = false;
        run = null;
        transport$.next({ type: 'stop' });
      }
    } else issues.report('sync', 'abletonosc-bad-message', `AbletonOSC: ignored ${quoted(m.address, 60)} with ${JSON.stringify(m.args).slice(0, 80)}; expected a beat >= 0, a tempo in [${CONTROL_RANGES.tempo.min}, ${CONTROL_RANGES.tempo.max}] or is_playing 0/1`);
  };
  socket.on('message', (data) => {
    const at = performance.now();
    try {
      for (const m of parsePacket(data)) handle(m, at);
    } catch (err) {
      issues.report('sync', 'abletonosc-bad-packet', `AbletonOSC: ignored a packet that is not OSC (${(err as Error).message})`);
    }
  });
  for (const l of LISTENERS) ask(`/live/song/start_listen/${l}`);
  ask('/live/song/get/tempo');

  return {
    name: `AbletonOSC at ${host}:${port}`,
    tempo$: tempo$.asObservable(),
    transport$: transport$.asObservable(),
    timeOf: (beats) => {
      if (!run) return null;
      const i = beats - run.first;
      if (run.times.length < 2) return run.times[0] + (i * 60_000) / tempo;
      return fitPulses(run.times).timeOf(i);
    },
    close: () => {
      for (const l of LISTENERS) ask(`/live/song/stop_listen/${l}`);
      transport$.complete();
      tempo$.complete();
      // the stop_listen messages go out before the socket closes
      setTimeout(() => socket.close(), 50).unref();
    },
  };
}
