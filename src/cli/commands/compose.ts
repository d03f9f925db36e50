/** smitin compose: a composed piece (no model) rendered by the band synthesizer to a WAV file. */
import { Command, Option } from 'commander';
import { DEFAULT_TEMPO, FRAMES_PER_BAR, MAX_TEMPO, MIN_TEMPO, SAMPLE_RATE, samplesPerFrame } from '../../constants.js';
import { cutWithFade } from '../../audio/fade.js';
import { encodeWav } from '../../audio/wav.js';
import { renderTokens } from '../../model/codec/synth/index.js';
import { compose, withoutInstrument, type Piece } from '../../model/tinyband/composer/index.js';
import { INSTRUMENTS, type Instrument } from '../../model/tinyband/layout.js';
import { keyName } from '../../model/tinyband/theory.js';
import type { StyleName } from '../../model/tinyband/styles.js';
import { UsageError } from '../../util/errors.js';
import { PendingFile } from '../../util/pending-file.js';
import { instrumentList, numberIn, styleName } from '../options.js';

/** An hour is far past any sensible render and keeps memory bounded (48 kHz stereo float: ~1.4 GB/hour). */
export const MAX_SECONDS = 3600;

interface ComposeCliOptions {
  seed: number;
  seconds: number;
  tempo: number;
  style?: StyleName;
  only?: Instrument[];
  without?: Instrument[];
  out: string;
  json?: boolean;
}

export interface ComposedAudio {
  piece: Piece;
  left: Float32Array;
  right: Float32Array;
  /** What a listener would not expect from the options: an instrument named that never plays, a silent result. */
  warnings: string[];
}

export function renderComposition(opts: Omit<ComposeCliOptions, 'out' | 'json'>): ComposedAudio {
  const frames = Math.ceil((opts.seconds * SAMPLE_RATE) / samplesPerFrame(opts.tempo));
  const composed = compose({ seed: opts.seed, style: opts.style, bars: Math.ceil(frames / FRAMES_PER_BAR) });
  const drop = opts.only ? INSTRUMENTS.filter((i) => !opts.only!.includes(i)) : (opts.without ?? []);
  let piece = composed;
  for (const inst of drop) piece = withoutInstrument(piece, inst);
  const full = renderTokens(piece.tokens, { tempo: opts.tempo });
  const [left, right] = cutWithFade([full.left, full.right], Math.round(opts.seconds * SAMPLE_RATE));
  const plays = (i: Instrument) => composed.sections.some((s) => s.playing[i]);
  const warnings: string[] = [];
  const named = opts.only ?? opts.without ?? [];
  const silentNamed = named.filter((i) => !plays(i));
  const which = `seed ${opts.seed} (${describePiece(composed)})`;
  if (silentNamed.length) {
    const them = silentNamed.join(', ');
    const verb = silentNamed.length > 1 ? 'never play' : 'never plays';
    warnings.push(`${them} ${verb} in ${which}: ${opts.only ? 'there is nothing of it to keep' : 'there is nothing to remove'}`);
  }
  if (!left.some((x) => x !== 0)) warnings.push(`the result is silent: nothing that plays in ${which} is kept; try another --seed`);
  return { piece, left, right, warnings };
}

export function describePiece(piece: Piece): string {
  const who = (s: Piece['sections'][number]) => INSTRUMENTS.filter((i) => s.playing[i]).join('+') || 'nobody';
  return `${piece.style} in ${keyName(piece.key)} [${piece.tags.join(', ')}], sections: ${piece.sections.map((s) => `${s.bars} bars ${who(s)}`).join(' | ')}`;
}

export function composeCommand(): Command {
  return new Command('compose')
    .description('compose a piece for the tinyband (drums, bass, piano, guitar) and render it to WAV, without a model')
    .requiredOption('--out <file.wav>', 'output WAV file (48 kHz stereo, 32-bit float)')
    .option('--seed <n>', 'random seed: the same seed gives the same piece', numberIn('seed', 0, 2 ** 32 - 1, { integer: true }), 1)
    .option('--seconds <n>', `length in seconds (0 < n <= ${MAX_SECONDS})`, numberIn('seconds', 0.001, MAX_SECONDS), 30)
    .option('--tempo <bpm>', `tempo in BPM (${MIN_TEMPO}..${MAX_TEMPO})`, numberIn('tempo', MIN_TEMPO, MAX_TEMPO), DEFAULT_TEMPO)
    .option('--style <name>', 'rock, funk, house, ballad or bossa (default: chosen by the seed)', styleName)
    .addOption(new Option('--only <list>', 'comma-separated instruments to keep, e.g. drums,bass').argParser(instrumentList).conflicts('without'))
    .addOption(new Option('--without <list>', 'comma-separated instruments to remove, e.g. piano').argParser(instrumentList))
    .option('--json', 'print a JSON summary')
    .action(async (opts: ComposeCliOptions) => {
      if (!opts.out.toLowerCase().endsWith('.wav')) throw new UsageError(`--out must name a .wav file, got: ${opts.out}`);
      const started = performance.now();
      const result = await PendingFile.produce(opts.out, '--out', (file) => {
        const audio = renderComposition(opts);
        file.write(encodeWav([audio.left, audio.right], SAMPLE_RATE));
        return audio;
      });
      for (const w of result.warnings) process.stderr.write(`warning: ${w}\n`);
      const wallSeconds = (performance.now() - started) / 1000;
      const summary = {
        out: opts.out,
        seconds: result.left.length / SAMPLE_RATE,
        sampleRate: SAMPLE_RATE,
        tempo: opts.tempo,
        seed: opts.seed,
        style: result.piece.style,
        key: keyName(result.piece.key),
        tags: result.piece.tags,
        bars: result.piece.bars,
        sections: result.piece.sections,
        warnings: result.warnings,
        wallSeconds,
      };
      if (opts.json) process.stdout.write(JSON.stringify(summary) + '\n');
      else process.stdout.write(`wrote ${opts.out}: ${summary.seconds.toFixed(2)} s at ${opts.tempo} BPM, ${describePiece(result.piece)}\n`);
    });
}
