/**
 * The live session in-process, as `smitin live` starts it (its checked
 * command line as the configuration): a knob reaches the engine, the
 * session take holds the whole run, stop() closes everything once.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { firstValueFrom, filter, timeout } from 'rxjs';
import { graphDtypes } from '../../src/model/musicgen/index.js';
import { describe, expect, it } from 'vitest';
import { decodeWav } from '../../src/audio/wav.js';
import { planLive, sessionConfig } from '../../src/cli/live-plan.js';
import { LiveSession } from '../../src/session/live-session.js';
import { tempDir } from '../helpers/cli.js';
import { SHIPPED_MODEL } from '../helpers/model.js';

describe('LiveSession', () => {
  it('plays on the null sink: a knob reaches the engine, the take is the whole run, stop() is idempotent', async () => {
    const dir = tempDir('smitin-session-');
    const plan = planLive({
      model: SHIPPED_MODEL,
      dtype: graphDtypes('fp32'),
      ep: 'cpu',
      preset: 'generic-8-knob',
      rate: 48000,
      buffer: 512,
      latency: 100,
      oscPort: 0,
      oscHost: '127.0.0.1',
      oscTarget: [],
      web: true,
      webPort: 0,
      webHost: '127.0.0.1',
      prompt: 'funk happy energetic',
      tempo: 120,
      record: join(dir, 'take.wav'),
      takes: join(dir, 'takes'),
      recordFormat: 'f32',
      quantize: 'off',
      loopBars: 4,
      sync: 'off',
      seed: 1,
    });
    const notes: string[] = [];
    const session = await LiveSession.start(sessionConfig(plan), (m) => notes.push(m));
    try {
      expect(notes.join('\n')).toMatch(/audio: /);
      // which knob moves what, before the first note plays
      expect(notes).toContain('preset "Generic 8 knobs": CC 70 drums, CC 71 bass, CC 72 piano, CC 73 guitar, CC 74 minor, CC 75 dense, CC 76 temperature, CC 77 guidance (channel 1)');
      // a word-level model's words are what a musician can type: the session says them at start
      expect(notes).toContain('prompt words the model knows: rock funk house ballad bossa happy bright sad dark calm steady energetic drums bass piano guitar');
      session.command({ type: 'prompt', text: 'funk groovy' });
      const flagged = await firstValueFrom(session.telemetry$.pipe(filter((x) => x.prompt === 'funk groovy'), timeout(20_000)));
      expect(flagged.unknownWords).toEqual(['groovy']);
      session.command({ type: 'strength', feature: 'drums', value: 0.75 });
      const t = await firstValueFrom(session.telemetry$.pipe(filter((x) => x.features.find((f) => f.name === 'drums')?.strength === 0.75), timeout(20_000)));
      expect(t.recording).toBe(true);
      expect(t).toMatchObject({ preset: 'Generic 8 knobs', guidance: 1.5 });
      expect(t.take?.file).toMatch(/take\.wav$/);
      // the move is heard: funk has its drums, so they are "in" within a bar or two of the knob
      const heard = await firstValueFrom(session.telemetry$.pipe(filter((x) => x.effects?.drums?.state === 'heard'), timeout(15_000)));
      expect(heard.effects!.drums.direction).toBe('in');
      expect(heard.effects!.drums.beats).toBeLessThan(8);
      await new Promise((r) => setTimeout(r, 1500));
      // the level meter reads what the output hands out: music, not silence
      expect((await firstValueFrom(session.telemetry$.pipe(timeout(5000)))).peakDbfs).toBeGreaterThan(-40);
    } finally {
      const figures = await session.stop();
      expect(await session.stop()).toBe(figures);
      expect(figures.blocks).toBeGreaterThan(0);
      const take = decodeWav(readFileSync(join(dir, 'take.wav')));
      // the session take holds everything that played: as long as the run, to within a device buffer or two
      expect(Math.abs(take.channels[0].length / 48000 - figures.blocks * 512 / 48000)).toBeLessThan(0.05);
      expect(figures.takes.map((x: { file: string }) => x.file)).toEqual([join(dir, 'take.wav')]);
    }
  }, 60_000);
});
