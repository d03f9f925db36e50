/**
 * A broken model folder is named for what it is, the same way by render and
 * live, before anything plays: a truncated decoder is "truncated" (not
 * "probes were trained on another decoder"), exit 2, in a few seconds. A
 * prepared decoder that is truncated, from another decoder or from an older
 * smitin is rebuilt, whole, before steering uses it.
 */
import { copyFileSync, lstatSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import onnxProto from 'onnx-proto';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveModelAndProbes, resolveLiveModel } from '../../src/cli/model-check.js';
import { readModelFolder } from '../../src/model/musicgen/index.js';
import { readOnnxSignature } from '../../src/model/onnx/model-file.js';
import { ModelFileError, OnnxSession } from '../../src/model/onnx/session.js';
import { ensurePrepared, prepareFolder, preparedStaleness } from '../../src/smitin/prepare.js';
import { decoderFingerprint } from '../../src/smitin/probe-set.js';
import { PREPARED_KEY, preparedPath, SOURCE_KEY } from '../../src/smitin/surgery.js';
import { UsageError } from '../../src/util/errors.js';
import { smitin, tempDir } from '../helpers/cli.js';
import { linkedCopy, MODEL_DIR, SHIPPED_MODEL } from '../helpers/model.js';
import { mountSmallDisk } from '../helpers/tmpfs.js';

const { onnx } = onnxProto;
const FIXTURE = fileURLToPath(new URL('../fixtures/musicgen-tiny', import.meta.url));
const ready = MODEL_DIR === SHIPPED_MODEL;
const made: string[] = [];
afterAll(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A copy of model folder `src` whose .onnx files are real copies (safe to truncate), with its probes when it has them. */
function realCopy(src: string): string {
  const dir = tempDir('smitin-check-');
  made.push(dir);
  mkdirSync(join(dir, 'onnx'));
  for (const f of readdirSync(src)) if (f.endsWith('.json') || f.endsWith('.safetensors')) copyFileSync(join(src, f), join(dir, f));
  for (const f of readdirSync(join(src, 'onnx'))) if (!f.endsWith('.iti.onnx')) copyFileSync(join(src, 'onnx', f), join(dir, 'onnx', f));
  return dir;
}

/** Cuts `file` short; never through a link (linkedCopy links the shipped model's files). */
function cut(file: string, fraction: number): void {
  expect(lstatSync(file).isFile(), `${file} must be a real copy`).toBe(true);
  truncateSync(file, Math.floor(statSync(file).size * fraction));
}

function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  expect(lines, stderr).toHaveLength(1);
  return lines[0];
}

describe('readOnnxSignature: what an ONNX file declares, without loading it', () => {
  const files = [
    ...['text_encoder.onnx', 'decoder_model_merged.onnx'].map((f) => join(SHIPPED_MODEL, 'onnx', f)),
    ...readdirSync(join(FIXTURE, 'onnx')).map((f) => join(FIXTURE, 'onnx', f)),
  ];

  it('declares the same inputs and outputs as onnxruntime reads from the file', async () => {
    for (const file of files) {
      const sig = readOnnxSignature(file);
      const session = await OnnxSession.create(file, { threads: 1 });
      expect(sig.inputs, file).toEqual(session.inputs);
      expect(sig.outputs, file).toEqual(session.outputs);
      expect(sig.inputNames).toEqual(session.inputNames);
      await session.release();
    }
  });

  it('calls a file cut anywhere truncated, naming it', () => {
    const dir = tempDir('smitin-cut-');
    made.push(dir);
    for (const src of [join(SHIPPED_MODEL, 'onnx', 'text_encoder.onnx'), join(FIXTURE, 'onnx', 'decoder_model_merged.onnx')]) {
      const bytes = readFileSync(src);
      const file = join(dir, 'model.onnx');
      for (let i = 1; i < 60; i++) {
        const n = i < 50 ? Math.floor((i / 50) * bytes.length) : bytes.length - (60 - i);
        writeFileSync(file, bytes.subarray(0, n));
        expect(() => readOnnxSignature(file), `${src} cut at ${n}`).toThrow(ModelFileError);
        expect(() => readOnnxSignature(file), `${src} cut at ${n}`).toThrow(new RegExp(`^${file}: truncated: the file ends at byte ${n} .*: re-download or re-export the model$`));
      }
    }
  });

  it('says what a file that is not a model is', () => {
    const dir = tempDir('smitin-notonnx-');
    made.push(dir);
    const cases: [string | null, RegExp][] = [
      ['version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 123\n', /not a valid ONNX model .*Git LFS pointer.*git lfs pull/],
      ['<!DOCTYPE html><html><body>Not found</body></html>', /not a valid ONNX model .*HTML/],
      ['', /is empty \(0 bytes\): re-download or re-export the model/],
      [null, /is a directory, not an ONNX model/],
    ];
    cases.forEach(([content, message], i) => {
      const file = join(dir, `m${i}.onnx`);
      if (content === null) mkdirSync(file);
      else writeFileSync(file, content);
      expect(() => readOnnxSignature(file)).toThrow(message);
    });
    expect(() => readOnnxSignature(join(dir, 'none.onnx'))).toThrow(/none\.onnx: missing/);
  });

  it('checks that weights kept in an external data file are all there', () => {
    const dir = tempDir('smitin-external-');
    made.push(dir);
    const tensor = (name: string) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 100 }] } } } });
    const model = onnx.ModelProto.encode({
      irVersion: 8,
      opsetImport: [{ version: 13 }],
      graph: {
        name: 'g',
        node: [{ opType: 'Add', input: ['x', 'w'], output: ['y'] }],
        initializer: [{ name: 'w', dataType: 1, dims: [100], dataLocation: onnx.TensorProto.DataLocation.EXTERNAL, externalData: [{ key: 'location', value: 'w.bin' }, { key: 'offset', value: '0' }, { key: 'length', value: '400' }] }],
        input: [tensor('x')],
        output: [tensor('y')],
      },
    }).finish();
    const file = join(dir, 'm.onnx');
    writeFileSync(file, model);
    expect(() => readOnnxSignature(file)).toThrow(new RegExp(`${join(dir, 'w.bin')}: missing \\(${file} keeps the weights of w and others there\\)`));
    writeFileSync(join(dir, 'w.bin'), new Uint8Array(100));
    expect(() => readOnnxSignature(file)).toThrow(/w\.bin: truncated: it is 100 bytes but .* reads w up to byte 400/);
    writeFileSync(join(dir, 'w.bin'), new Uint8Array(400));
    expect(readOnnxSignature(file).inputNames).toEqual(['x']);
  });
});

describe.skipIf(!ready)('a truncated decoder is named before the probes, exit 2, by live and render alike', () => {
  const dir = realCopy(SHIPPED_MODEL);
  const decoder = join(dir, 'onnx', 'decoder_model_merged.onnx');
  cut(decoder, 0.5);
  const expected = new RegExp(`^error: ${decoder}: truncated: .*re-download or re-export the model$`);

  it('resolveModelAndProbes throws a UsageError naming the decoder as truncated', () => {
    for (const probes of [undefined, 'none']) {
      expect(() => resolveModelAndProbes(dir, { probes })).toThrow(UsageError);
      expect(() => resolveLiveModel(dir, probes)).toThrow(new RegExp(`${decoder}: truncated`));
    }
  });

  const runs: [string, string[]][] = [
    ['live --probes none', ['live', '--model', dir, '--probes', 'none', '--duration', '1', '--osc-port', '0', '--web-port', '0', '--json']],
    ['live', ['live', '--model', dir, '--duration', '1', '--osc-port', '0', '--web-port', '0', '--json']],
    ['render', ['render', '--model', dir, '--prompt', 'rock', '--seconds', '1', '--out', join(dir, 'a.wav')]],
    ['render --steer', ['render', '--model', dir, '--prompt', 'rock', '--seconds', '1', '--steer', 'drums=1', '--out', join(dir, 'a.wav')]],
  ];
  for (const [label, args] of runs) {
    it(`${label}: exit 2 within a few seconds, one line naming the truncated decoder`, () => {
      const t0 = Date.now();
      const r = smitin(args);
      expect((Date.now() - t0) / 1000).toBeLessThan(10);
      expect(r.status, r.stderr).toBe(2);
      const line = oneLine(r.stderr);
      expect(line).toMatch(expected);
      expect(line).not.toMatch(/probes/);
    });
  }

  it('a truncated text encoder too; a whole folder passes, with its probes and prepared decoder', () => {
    const other = realCopy(SHIPPED_MODEL);
    cut(join(other, 'onnx', 'text_encoder.onnx'), 0.9);
    const r = smitin(['render', '--model', other, '--prompt', 'rock', '--seconds', '1', '--out', join(other, 'a.wav')]);
    expect(r.status).toBe(2);
    expect(oneLine(r.stderr)).toMatch(/text_encoder\.onnx: truncated/);
    const good = resolveModelAndProbes(realCopy(SHIPPED_MODEL));
    expect(good.features).toEqual(['drums', 'bass', 'piano', 'guitar', 'minor', 'dense']);
    expect(good.preparedDecoder).toMatch(/decoder_model_merged\.iti\.onnx$/);
    expect(good.notes).toEqual([]);
    expect(good.ms).toBeLessThan(5000);
  });

  it('probes that do not fit a whole decoder are a UsageError too (exit 2)', () => {
    const tiny = linkedCopy(FIXTURE);
    made.push(tiny);
    copyFileSync(join(SHIPPED_MODEL, 'probes.safetensors'), join(tiny, 'probes.safetensors'));
    const r = smitin(['live', '--model', tiny, '--duration', '1', '--osc-port', '0', '--web-port', '0', '--json']);
    expect(r.status).toBe(2);
    expect(oneLine(r.stderr)).toMatch(/probes\.safetensors: probes for a model with 4 layers x 8 heads x 24 dims \(tinyband\); this model .* has 2 x 4 x 8/);
  });
});

describe.skipIf(!ready)('a stale prepared decoder is rebuilt before steering uses it', () => {
  const dir = linkedCopy(SHIPPED_MODEL, 'smitin-stale-');
  made.push(dir);
  copyFileSync(join(SHIPPED_MODEL, 'probes.safetensors'), join(dir, 'probes.safetensors'));
  const { spec } = readModelFolder(dir);
  const prepared = preparedPath(spec.files.decoder);
  // the copy links the shipped folder's prepared decoder when it has one: unlinked, so nothing here writes through to it
  rmSync(prepared, { force: true });

  /** The prepared file is whole and records the decoder it was made from. */
  function expectFresh(): void {
    const meta = readOnnxSignature(prepared).metadata;
    expect(meta.get(PREPARED_KEY)).toBe('layers=4 width=192');
    expect(meta.get(SOURCE_KEY)).toBe(decoderFingerprint(spec.files.decoder));
    expect(preparedStaleness(prepared, spec.files.decoder)).toBeNull();
  }

  it('render --steer makes it quietly on first use, then a truncated one is rebuilt with a note and the render succeeds', () => {
    const render = () => smitin(['render', '--model', dir, '--prompt', 'rock', '--seconds', '1', '--steer', 'drums=1', '--json', '--out', join(dir, 'a.wav')]);
    const first = render();
    expect(first.status, first.stderr).toBe(0);
    expect(first.stderr).toBe('');
    expectFresh();
    cut(prepared, 0.3);
    const again = render();
    expect(again.status, again.stderr).toBe(0);
    expect(oneLine(again.stderr)).toMatch(new RegExp(`^note: rebuilt ${prepared} \\(truncated: the file ends at byte \\d+ but its graph .*\\) in \\d+ ms$`));
    expect(JSON.parse(again.stdout).steering.strengths).toEqual({ drums: 1 });
    expectFresh();
  });

  it("live's path rebuilds a truncated one before the audio starts, and plays steered", () => {
    cut(prepared, 0.5);
    const checked = resolveLiveModel(dir);
    expect(checked.note).toMatch(/^note: rebuilt .*decoder_model_merged\.iti\.onnx \(truncated/);
    expectFresh();
    cut(prepared, 0.5);
    const r = smitin(['live', '--model', dir, '--duration', '1', '--osc-port', '0', '--web-port', '0', '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/note: rebuilt .*decoder_model_merged\.iti\.onnx \(truncated/);
    expect(JSON.parse(r.stdout.trim().split('\n').at(-1)!).features.map((f: { name: string }) => f.name)).toContain('drums');
    expectFresh();
  }, 60_000);

  it('one made from another decoder is rebuilt, with a note that says so', async () => {
    const tiny = linkedCopy(FIXTURE, 'smitin-other-');
    made.push(tiny);
    const other = await prepareFolder(tiny);
    copyFileSync(other.out, prepared);
    expect(preparedStaleness(prepared, spec.files.decoder)).toMatch(/made from another decoder/);
    const r = smitin(['render', '--model', dir, '--prompt', 'rock', '--seconds', '1', '--steer', 'drums=1', '--out', join(dir, 'b.wav')]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`note: rebuilt ${prepared} \\(it was made from another decoder \\(fingerprint [0-9a-f]{12}; .* is [0-9a-f]{12}\\)\\)`));
    expectFresh();
  });

  it('one from an older smitin (no recorded source) is rebuilt without a note', () => {
    const model = onnx.ModelProto.decode(readFileSync(prepared));
    model.metadataProps = model.metadataProps.filter((p) => p.key !== SOURCE_KEY);
    writeFileSync(prepared, onnx.ModelProto.encode(model).finish());
    expect(preparedStaleness(prepared, spec.files.decoder)).toMatch(/older smitin/);
    const r = ensurePrepared(dir);
    expect(r.rebuilt).toMatch(/older smitin/);
    expect(r.note).toBeNull();
    expectFresh();
  });

  it('a folder where it cannot be written is one clear error, and the stale file stays', () => {
    cut(prepared, 0.5);
    const size = statSync(prepared).size;
    // a stand-in for a read-only folder that holds for root too: the temporary file PendingFile would create is taken
    const blocker = join(dir, 'onnx', `.decoder_model_merged.iti.onnx.partial-${process.pid}`);
    writeFileSync(blocker, '');
    try {
      expect(() => ensurePrepared(dir)).toThrow(UsageError);
      expect(() => ensurePrepared(dir)).toThrow(
        new RegExp(`^${prepared} must be rebuilt for steering \\(truncated: .*\\), but ${join(dir, 'onnx')} cannot be written \\(EEXIST .*\\): run smitin prepare --model ${dir} where the folder is writable`),
      );
      expect(statSync(prepared).size).toBe(size);
    } finally {
      rmSync(blocker);
    }
    expect(ensurePrepared(dir).rebuilt).toMatch(/^truncated/);
    expectFresh();
  });
});

const disk = ready ? mountSmallDisk(32 * 1024) : { reason: 'no shipped model' };
afterAll(() => {
  if ('dir' in disk) disk.unmount();
});

describe.skipIf('reason' in disk)(`a stale prepared decoder on a read-only file system${'reason' in disk ? ` (skipped: ${disk.reason})` : ''}`, () => {
  it('render --steer and live refuse with exit 2 and one line saying it cannot be rebuilt there; writable again, it is', () => {
    if (!('dir' in disk)) return;
    const dir = join(disk.dir, 'model');
    mkdirSync(join(dir, 'onnx'), { recursive: true });
    for (const f of readdirSync(SHIPPED_MODEL)) if (f.endsWith('.json') || f.endsWith('.safetensors')) copyFileSync(join(SHIPPED_MODEL, f), join(dir, f));
    for (const f of ['text_encoder.onnx', 'decoder_model_merged.onnx']) symlinkSync(realpathSync(join(SHIPPED_MODEL, 'onnx', f)), join(dir, 'onnx', f));
    const prepared = join(dir, 'onnx', 'decoder_model_merged.iti.onnx');
    writeFileSync(prepared, readFileSync(join(SHIPPED_MODEL, 'onnx', 'decoder_model_merged.onnx')).subarray(0, 1_000_000));
    disk.readOnly(true);
    try {
      const expected = new RegExp(`^error: ${prepared} must be rebuilt for steering \\(truncated: .*\\), but ${join(dir, 'onnx')} cannot be written \\(EROFS .*\\): run smitin prepare --model ${dir} where the folder is writable`);
      const render = smitin(['render', '--model', dir, '--prompt', 'rock', '--seconds', '1', '--steer', 'drums=1', '--out', join(tempDir(), 'a.wav')]);
      expect(render.status, render.stderr).toBe(2);
      expect(oneLine(render.stderr)).toMatch(expected);
      const live = smitin(['live', '--model', dir, '--duration', '1', '--osc-port', '0', '--web-port', '0', '--json']);
      expect(live.status, live.stderr).toBe(2);
      expect(oneLine(live.stderr)).toMatch(expected);
      // without steering nothing needs writing
      expect(smitin(['live', '--model', dir, '--probes', 'none', '--duration', '1', '--osc-port', '0', '--web-port', '0', '--json']).status).toBe(0);
    } finally {
      disk.readOnly(false);
    }
    expect(ensurePrepared(dir).rebuilt).toMatch(/^truncated/);
    expect(preparedStaleness(prepared, join(dir, 'onnx', 'decoder_model_merged.onnx'))).toBeNull();
  }, 60_000);
});
