/**
 * Other programs' opinion of a WAV file: sox (warns on a non-conformant
 * header, .ci/run installs it) and Python's `wave` module (PCM only, the
 * strictest common reader). Tests skip with the reason when one is missing.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export function soxMissing(): string | null {
  const r = spawnSync('sox', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? null : 'sox is not installed (apt-get install sox)';
}

/** sox's decoding of `path` as raw samples in the file's own encoding, and everything it said on stderr. */
export function soxRaw(path: string): { raw: Buffer; stderr: string; status: number | null } {
  const r = spawnSync('sox', ['-V2', path, '-t', 'raw', '-'], { maxBuffer: 64 * 1024 * 1024 });
  return { raw: r.stdout, stderr: r.stderr.toString('utf8'), status: r.status };
}

const PYTHON = ['/usr/bin/python3', 'python3'].find((exe) => spawnSync(exe, ['-c', 'import wave'], { encoding: 'utf8' }).status === 0) ?? null;

export function pythonMissing(): string | null {
  return PYTHON ? null : 'no python3 with the wave module';
}

export interface PythonWave {
  channels: number;
  width: number;
  rate: number;
  frames: number;
  /** The frames' bytes as `wave` read them. */
  data: Buffer;
}

/** Opens `path` with Python's wave module; throws with Python's own error when it refuses. */
export function pythonWave(path: string): PythonWave {
  const script = [
    'import json, sys, wave',
    'w = wave.open(sys.argv[1], "rb")',
    'p = w.getparams()',
    'print(json.dumps({"channels": p.nchannels, "width": p.sampwidth, "rate": p.framerate, "frames": p.nframes, "data": w.readframes(p.nframes).hex()}))',
  ].join('\n');
  const r = spawnSync(PYTHON!, ['-c', script, path], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`python's wave refused ${path}: ${r.stderr.trim()}`);
  const j = JSON.parse(r.stdout);
  return { ...j, data: Buffer.from(j.data, 'hex') };
}

/** The chunks of a RIFF WAVE file in order, with where each one's payload starts. */
export function riffChunks(path: string): { id: string; size: number; at: number }[] {
  const b = readFileSync(path);
  if (b.toString('ascii', 0, 4) !== 'RIFF' || b.toString('ascii', 8, 12) !== 'WAVE') throw new Error(`${path} is not a RIFF WAVE file`);
  const chunks: { id: string; size: number; at: number }[] = [];
  for (let at = 12; at + 8 <= b.length; ) {
    const size = b.readUInt32LE(at + 4);
    chunks.push({ id: b.toString('ascii', at, at + 4), size, at: at + 8 });
    at += 8 + size + (size % 2);
  }
  return chunks;
}
