/**
 * smitin live: the product's main job. tinyband (or any MusicGen export with
 * probes) plays into a PortAudio device while MIDI, OSC and a preset steer
 * it; the terminal shows what the engine does; Ctrl-C stops it cleanly and
 * finalises the take.
 *
 * This file only reads the command line: live-plan.ts checks everything it
 * names (exit 2, nothing opened), then a LiveSession (session/) opens the
 * parts and plays until Ctrl-C, SIGTERM or --duration. No path leaves the
 * process hanging.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_TEMPO, MAX_TEMPO, MIN_TEMPO, SAMPLE_RATE } from '../../constants.js';
import { RECORD_FORMATS } from '../../audio/takes.js';
import { describeChannels, OUTPUT_MODES, outputChannels } from '../../audio/outputs.js';
import { listPresets } from '../../control/presets.js';
import { DEFAULT_OSC_HOST } from '../../control/osc-source.js';
import { DEFAULT_WEB_HOST, DEFAULT_WEB_PORT } from '../../web/web-surface.js';
import { DEFAULT_LOOP_BARS, LOOP_BARS, QUANTIZE_MODES } from '../../protocol.js';
import { SYNC_SOURCES } from '../../sync/time-source.js';
import { parseTarget } from '../../control/telemetry-out.js';
import { DEFAULT_LATENCY_MS } from '../../engine/live-engine.js';
import { LiveSession } from '../../session/live-session.js';
import { planLive, sessionConfig, type LiveCliOptions, type LivePlan } from '../live-plan.js';
import { numberIn, numberOf } from '../options.js';
import { StatusView, statusLines } from '../status-view.js';
import { parseSteer } from '../steering-options.js';
import { addModelOptions } from '../model-options.js';
import { PROBES_DEFAULT_HELP } from '../../smitin/probe-location.js';

/** What live plays when no prompt is given (check times the same conditioning). */
export const DEFAULT_LIVE_PROMPT = 'funk happy energetic';

/** --latency, the ring target in ms (live's and check's). */
export const parseLatency = numberIn('latency', 10, 2000);

function collectTarget(value: string, previous: string[]): string[] {
  try {
    parseTarget(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
  return [...previous, value];
}

export function liveCommand(): Command {
  const cmd = new Command('live').description('play a MusicGen model (default: the shipped tinyband) live into an audio device, steered by MIDI, OSC and a preset');
  return addModelOptions(cmd, { sampling: 'live' })
    .option('--force', 'play even when the check at start finds that this machine cannot keep up (the status view, the web page, OSC telemetry and --json then show the deficit)')
    .option('--probes <file>', `probe set (${PROBES_DEFAULT_HELP}; none: play without steering)`)
    .option('--preset <name|file>', `controller preset: a name (${listPresets().join(', ')}, or one in --presets DIR) or a .json file`, 'generic-8-knob')
    .option('--presets <dir>', 'a folder of your own presets, found by name (also by /smitin/preset) before the shipped ones')
    .option('--device <name|id>', 'PortAudio output device (name, part of it, or id; default: the default device, or a real-time null sink when there is none)')
    .option('--rate <hz>', 'output sample rate', numberIn('rate', 8000, 192000, { integer: true }), SAMPLE_RATE)
    .option('--buffer <frames>', 'device buffer in frames', numberIn('buffer', 32, 16384, { integer: true }), 512)
    .option('--latency <ms>', 'audio generated ahead of the device (the ring target): lower reacts faster, higher rides out slow steps', parseLatency, DEFAULT_LATENCY_MS)
    .option('--osc-port <n>', 'UDP port OSC control listens on (0: no OSC)', numberIn('osc-port', 0, 65535, { integer: true }), 9000)
    .option('--osc-host <addr>', 'address OSC listens on: 127.0.0.1 is this machine only; 0.0.0.0 lets a tablet on the LAN in', DEFAULT_OSC_HOST)
    .option('--osc-target <host:port>', 'send telemetry over OSC here (repeatable)', collectTarget, [])
    .option('--web-port <n>', 'TCP port of the web surface (a page to play from in a browser)', numberIn('web-port', 0, 65535, { integer: true }), DEFAULT_WEB_PORT)
    .option('--web-host <addr>', 'address the web surface listens on: 127.0.0.1 is this machine only; 0.0.0.0 opens it to the LAN (every client then needs the token printed at start)', DEFAULT_WEB_HOST)
    .option('--no-web', 'no web surface')
    .option('--midi-in <name>', 'MIDI input port (part of its name)')
    .option('--midi-out <name>', 'MIDI output port for value echo (LED rings)')
    .option('--midi-notes-out <name>', "MIDI output port for the band's notes, in time with the audio heard (tinyband: drums on channel 10, bass 1, piano 2, guitar 3)")
    .option('--prompt <text>', 'what to play', DEFAULT_LIVE_PROMPT)
    .option('--tempo <bpm>', `tempo (${MIN_TEMPO}..${MAX_TEMPO}); MIDI clock overrides it when the preset follows it`, numberIn('tempo', MIN_TEMPO, MAX_TEMPO), DEFAULT_TEMPO)
    .option('--steer <list>', 'starting strengths, e.g. drums=0.5,piano=-1', parseSteer)
    .option('--loop-bars <n>', `bars the web page's loop button freezes and repeats: ${LOOP_BARS.join(', ')} (/smitin/loop N and preset buttons name their own)`, numberOf('loop-bars', LOOP_BARS), DEFAULT_LOOP_BARS)
    .addOption(new Option('--quantize <grid>', 'where a knob, temperature or guidance change lands: the next 16th (off), the next beat or bar line of the music, or the next 4- or 8-bar phrase (a push comes in where a band would bring an instrument in)').choices(QUANTIZE_MODES).default('off'))
    .addOption(new Option('--sync <source>', "follow a DAW's tempo, transport and bar phase: midi (the clock, start/stop and song position on --midi-in), abletonosc (AbletonOSC's beat listener), link (Ableton Link); off keeps its own (docs/sync.md)").choices(SYNC_SOURCES).default('off'))
    .option('--link-start-stop', "with --sync link: play and stop with the Link session (its start/stop sync); without it the band plays from the start, on Link's tempo and bar lines")
    .option('--record <file.wav>', 'record the whole session, start to stop, into this file (an existing file is kept: the take becomes file-2.wav, ...)')
    .option('--record-midi <file.mid>', "record the band's notes, start to stop, into this MIDI file (tinyband; an existing file is kept: file-2.mid, ...)")
    .option('--takes <dir>', 'the folder /smitin/record and record buttons make takes in, named by the clock (created at start)', './takes')
    .option('--overwrite', 'let --record and --record-midi replace an existing file')
    .addOption(new Option('--record-format <f>', 'take sample format: f32 (exactly what played), s24 or s16 (PCM, opens everywhere)').choices(RECORD_FORMATS).default('f32'))
    .addOption(new Option('--outputs <mode>', `what the device's channels carry: mix (1-2), or stems: ${describeChannels('stems')} (tinyband; needs a device with ${outputChannels('stems')} output channels; takes write NAME.<instrument>.wav beside NAME.wav)`).choices(OUTPUT_MODES).default('mix'))
    .option('--duration <s>', 'stop after this many seconds (default: until Ctrl-C)', numberIn('duration', 0.1, 86400))
    .option('--seed <n>', 'sampling seed', numberIn('seed', 0, 2 ** 31 - 1, { integer: true }), 1)
    .option('--json', 'no status view: print the final figures as JSON')
    .action(async (opts: LiveCliOptions) => {
      const plan = planLive(opts);
      await runLive(plan);
    });
}

async function runLive(plan: LivePlan): Promise<void> {
  const { opts } = plan;
  const view = opts.json ? null : new StatusView(process.stdout);
  const say = (m: string) => (view ? view.note(m) : process.stderr.write(`${m}\n`));
  if (plan.steeringNote) say(plan.steeringNote);
  if (plan.startNote) say(plan.startNote);
  if (plan.outputsNote) say(plan.outputsNote);
  // a binding thread of a failed device can keep the event loop alive: whatever happens below, the process ends
  const forceExit = () => setTimeout(() => process.exit(process.exitCode ?? 0), 2000).unref();
  let session: LiveSession | null = null;
  try {
    session = await LiveSession.start(sessionConfig(plan), say);
    const device = session.deviceName;
    const viewSub = view ? session.telemetry$.subscribe((t) => view.render(statusLines(t, { device, issues: t.issues ?? {}, take: t.take }))) : null;
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      if (opts.duration) setTimeout(stop, opts.duration * 1000);
    });
    viewSub?.unsubscribe();
    const figures = await session.stop();
    if (opts.json) process.stdout.write(JSON.stringify(figures) + '\n');
    else process.stdout.write(`stopped after ${figures.seconds.toFixed(1)} s: ${figures.underruns} underruns, control latency p50 ${fmt(figures.controlLatencyMs.p50)} ms p99 ${fmt(figures.controlLatencyMs.p99)} ms\n`);
  } finally {
    await session?.stop();
    forceExit();
  }
}

function fmt(v: number | null): string {
  return v === null ? '-' : v.toFixed(0);
}
