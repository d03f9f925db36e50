import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPreset, parsePreset } from '../../src/control/presets.js';
import { saveLearnedPreset } from '../../src/session/learned-preset.js';
import { tempDir } from '../helpers/cli.js';

describe('saving what MIDI learn bound', () => {
  it('writes a preset that loads again, under a new name, never over an existing file', () => {
    const dir = tempDir('smitin-learned-');
    const preset = loadPreset('generic-8-knob');
    const learned = { ...preset, features: { ...preset.features, drums: { ...preset.features.drums, cc: 20, channel: 3 } } };
    const at = new Date('2026-12-03T21:15:07Z');
    writeFileSync(join(dir, 'learned-2026-12-03-21-15-07.json'), 'an earlier file');
    const file = saveLearnedPreset(learned, dir, at);
    expect(file).toBe(join(dir, 'learned-2026-12-03-21-15-07-2.json'));
    expect(readFileSync(join(dir, 'learned-2026-12-03-21-15-07.json'), 'utf8')).toBe('an earlier file');
    const again = parsePreset(JSON.parse(readFileSync(file, 'utf8')), file);
    expect(again.features.drums).toMatchObject({ cc: 20, channel: 3 });
    expect(again.name).toBe(`${preset.name} (learned 2026-12-03-21-15-07)`);
    expect(loadPreset(file).features.drums.cc).toBe(20);
  });

  it('a folder that is gone is an error for the caller to report, not a crash of its own', () => {
    expect(() => saveLearnedPreset(loadPreset('generic-8-knob'), '/nonexistent-smitin/takes')).toThrow(/ENOENT/);
  });
});
