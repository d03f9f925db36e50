/**
 * One set of model options for every command that loads a model: the same
 * flags, help and checks in render, live, probes train, eval and prepare
 * (a subset where a command cannot use the rest), and live carries them
 * into the worker that loads and runs the model.
 */
import { fileURLToPath } from 'node:url';
import type { Command, Option } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import { commandLineStarts } from '../../src/cli/live-plan.js';
import { loadPreset } from '../../src/control/presets.js';
import { smitin } from '../helpers/cli.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/musicgen-tiny', import.meta.url));
const MODEL_FLAGS = ['--model', '--dtype', '--ep', '--threads'];
const SAMPLING_FLAGS = ['--guidance', '--temperature', '--top-k', '--top-p'];

function command(path: string[]): Command {
  let c: Command = buildProgram();
  for (const name of path) c = c.commands.find((x) => x.name() === name)!;
  return c;
}

/** The option's definition as a user meets it: flags, help, choices. */
function definition(c: Command, flag: string): Pick<Option, 'flags' | 'description' | 'argChoices'> | undefined {
  const o = c.options.find((x) => x.long === flag);
  return o && { flags: o.flags, description: o.description, argChoices: o.argChoices };
}

describe('the model options', () => {
  it('are one definition: every command that loads a model has them, with the same flags, help and choices', () => {
    const render = command(['render']);
    const takers: [string[], string[]][] = [
      [['live'], [...MODEL_FLAGS, ...SAMPLING_FLAGS]],
      [['check'], [...MODEL_FLAGS, ...SAMPLING_FLAGS]],
      [['probes', 'train'], MODEL_FLAGS],
      [['eval'], ['--dtype', '--ep', '--threads']],
      [['prepare'], ['--model', '--dtype']],
    ];
    for (const flag of [...MODEL_FLAGS, ...SAMPLING_FLAGS]) expect(definition(render, flag), `render ${flag}`).toBeDefined();
    for (const [path, flags] of takers) {
      const c = command(path);
      for (const flag of flags) {
        const mine = definition(c, flag);
        expect(mine, `${path.join(' ')} ${flag}`).toBeDefined();
        // live's guidance and temperature start its controls, so they take the controls' range: the rest is word for word render's
        if (['live', 'check'].includes(path[0]) && ['--guidance', '--temperature'].includes(flag)) continue;
        expect(mine, `${path.join(' ')} ${flag}`).toEqual(definition(render, flag));
      }
    }
  });

  it("live takes guidance and temperature in its controls' range, render in the sampler's", () => {
    const live = smitin(['live', '--guidance', '50', '--osc-port', '0', '--no-web', '--duration', '1']);
    expect(live.status).toBe(2);
    expect(live.stderr.trim()).toMatch(/guidance must be within \[1, 20\], got: 50/);
    const render = smitin(['render', '--guidance', '150', '--prompt', 'x', '--out', 'x.wav']);
    expect(render.status).toBe(2);
    expect(render.stderr.trim()).toMatch(/guidance must be within \[0, 100\], got: 150/);
  });

  it('--guidance and --temperature are where the session starts: a starting preset\'s initial values give way, with a note', () => {
    const generic = loadPreset('generic-8-knob');
    const withStarts = { ...generic, settings: { ...generic.settings, guidance: { ...generic.settings.guidance!, initial: 2 }, temperature: { ...generic.settings.temperature!, initial: 0.9 } } };
    const both = commandLineStarts(withStarts, { guidance: 4 });
    expect(both.preset.settings.guidance?.initial).toBeUndefined();
    // the command line named only guidance: the preset's temperature start stands
    expect(both.preset.settings.temperature?.initial).toBe(0.9);
    expect(both.note).toMatch(/--guidance 4 \(the preset's initial 2\)/);
    // nothing given: the preset is used as it is
    expect(commandLineStarts(withStarts, {})).toEqual({ preset: withStarts, note: null });
    // given, with a preset that sets no start: nothing to say
    expect(commandLineStarts(generic, { guidance: 4, temperature: 0.7 }).note).toBeNull();
  });

  it('live plays the q8 files with the sampling asked for: the worker opens the quantized decoder and the controls start there', () => {
    const r = smitin(['live', '--model', FIXTURE, '--force', '--dtype', 'q8', '--guidance', '2', '--temperature', '0.8', '--top-k', '50', '--threads', '1', '--duration', '1.5', '--osc-port', '0', '--no-web', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const figures = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(figures.model.decoder).toMatch(/decoder_model_merged_quantized\.onnx$/);
    expect(figures.model).toMatchObject({ ep: 'cpu', threads: 1 });
    expect(figures).toMatchObject({ guidance: 2, temperature: 0.8 });
    expect(figures.frames).toBeGreaterThan(0);
  }, 60_000);
});
