/**
 * smitin pull and hub ids for --model, against a real local HTTP server that
 * serves test/fixtures/musicgen-tiny in the hub's URL layout
 * (test/helpers/hub-server.ts), each test with its own HF_HOME.
 */
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { REPO, tempDir } from '../helpers/cli.js';
import { smitinAsync } from '../helpers/cli-async.js';
import { HubServer } from '../helpers/hub-server.js';

const FIXTURE = join(REPO, 'test/fixtures/musicgen-tiny');
const ID = 'smitin-test/musicgen-tiny';
const TOKEN = 'hf_localtesttoken';
const DECODER = 'onnx/decoder_model_merged.onnx';

let server: HubServer;
let home: string;
let env: NodeJS.ProcessEnv;

beforeEach(async () => {
  server = await new HubServer(ID, FIXTURE, { token: TOKEN }).start();
  home = tempDir('smitin-hub-');
  // undefined: not passed on, so a developer's own cache settings do not leak in
  env = { HF_HOME: home, HF_ENDPOINT: server.url, HF_TOKEN: TOKEN, HF_HUB_CACHE: undefined, HUGGINGFACE_HUB_CACHE: undefined, HF_HUB_OFFLINE: undefined };
});

afterEach(async () => {
  await server.stop();
  rmSync(home, { recursive: true, force: true });
});

const repoDir = () => join(home, 'hub', 'models--smitin-test--musicgen-tiny');
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

async function pull(args: string[] = [], extra: NodeJS.ProcessEnv = {}) {
  return smitinAsync(['pull', ID, '--json', ...args], { ...env, ...extra });
}

describe('smitin pull', () => {
  it('fetches only the fp32 files into the Hugging Face cache layout, with the token, and render plays the hub id offline like the folder', async () => {
    const r = await pull();
    expect(r.stderr).not.toMatch(/error/);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.commit).toBe(server.commit);
    expect(out.files.map((f: { path: string }) => f.path).sort()).toEqual(
      ['config.json', 'generation_config.json', 'onnx/decoder_model_merged.onnx', 'onnx/encodec_decode.onnx', 'onnx/text_encoder.onnx', 'tokenizer.json', 'tokenizer_config.json'].sort(),
    );
    // what huggingface_hub writes: refs/main -> commit, snapshot links to blobs named by sha256 (LFS) or git oid
    expect(readFileSync(join(repoDir(), 'refs', 'main'), 'utf8')).toBe(server.commit);
    const link = join(repoDir(), 'snapshots', server.commit, DECODER);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe(`../../../blobs/${server.file(DECODER).sha256}`);
    expect(readlinkSync(join(repoDir(), 'snapshots', server.commit, 'config.json'))).toBe(`../../blobs/${server.file('config.json').gitOid}`);
    expect(sha256(readFileSync(link))).toBe(server.file(DECODER).sha256);
    expect(readdirSync(join(repoDir(), 'blobs')).some((b) => b.endsWith('.incomplete'))).toBe(false);
    expect(server.requests.every((q) => q.authorization === `Bearer ${TOKEN}`)).toBe(true);
    expect(server.requests.some((q) => q.path.includes('_fp16') || q.path.includes('_quantized') || q.path.includes('encodec_encode'))).toBe(false);

    // a second pull fetches nothing
    const before = server.requests.length;
    const again = JSON.parse((await pull()).stdout);
    expect(again.transferred).toBe(0);
    expect(server.requests.slice(before).filter((q) => q.path.includes('/resolve/'))).toEqual([]);

    const dir = tempDir('smitin-hub-out-');
    try {
      const render = (model: string, out: string, extra: NodeJS.ProcessEnv = {}) =>
        smitinAsync(['render', '--model', model, '--prompt', '80s pop', '--seconds', '0.5', '--seed', '3', '--threads', '1', '--out', join(dir, out)], { ...env, ...extra });
      const fromHub = await render(ID, 'hub.wav', { HF_HUB_OFFLINE: '1' });
      expect(fromHub.stderr).toBe('');
      expect(fromHub.status).toBe(0);
      const fromFolder = await render(FIXTURE, 'folder.wav');
      expect(fromFolder.status).toBe(0);
      expect(sha256(readFileSync(join(dir, 'hub.wav')))).toBe(sha256(readFileSync(join(dir, 'folder.wav'))));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('resumes a download that broke off half way with a Range request, not from zero', async () => {
    server.cuts.set(DECODER, 1);
    const r = await pull();
    expect(r.status).toBe(0);
    const size = server.file(DECODER).bytes.length;
    const gets = server.gets(DECODER);
    expect(gets).toHaveLength(2);
    expect(gets[0].range).toBeNull();
    const from = Number(/^bytes=(\d+)-$/.exec(gets[1].range ?? '')?.[1]);
    expect(from).toBeGreaterThan(0);
    expect(from).toBeLessThan(size);
    expect(r.stderr).toMatch(/connection lost in onnx\/decoder_model_merged\.onnx at \d+ of \d+ bytes .*: resuming/);
    // the resumed file is whole at the first try: nothing refused, nothing fetched a third time
    expect(r.stderr).not.toMatch(/refused/);
    expect(sha256(readFileSync(join(repoDir(), 'snapshots', server.commit, DECODER)))).toBe(server.file(DECODER).sha256);
    // the part that reached the file before the cut was kept: far less than the half a restart from zero would send again
    const out = JSON.parse(r.stdout);
    expect(out.transferred - out.bytes).toBeLessThan(size / 8);
  });

  it('goes on from a partial file a killed pull left behind (blobs/{sha256}.incomplete)', async () => {
    const f = server.file(DECODER);
    const blob = join(repoDir(), 'blobs', f.sha256);
    // what an interrupted run (this tool or huggingface_hub) leaves: the first 40 % of the bytes
    const part = Math.floor(f.bytes.length * 0.4);
    mkdirSync(join(repoDir(), 'blobs'), { recursive: true });
    writeFileSync(`${blob}.incomplete`, f.bytes.subarray(0, part));
    const r = await pull();
    expect(r.status).toBe(0);
    expect(server.gets(DECODER).map((g) => g.range)).toEqual([`bytes=${part}-`]);
    expect(r.stderr).toMatch(new RegExp(`resuming onnx/decoder_model_merged\\.onnx from ${part} of ${f.bytes.length} bytes`));
    expect(sha256(readFileSync(blob))).toBe(f.sha256);
  });

  it('starts over, not appends, when a server answers a Range request with the whole file', async () => {
    const f = server.file(DECODER);
    const blob = join(repoDir(), 'blobs', f.sha256);
    mkdirSync(join(repoDir(), 'blobs'), { recursive: true });
    writeFileSync(`${blob}.incomplete`, f.bytes.subarray(0, 1000));
    server.ignoreRange = true;
    const r = await pull();
    expect(r.status).toBe(0);
    expect(server.gets(DECODER).map((g) => g.range)).toEqual(['bytes=1000-']);
    expect(sha256(readFileSync(blob))).toBe(f.sha256);
  });

  it('refuses a file whose checksum does not match the listing and fetches it again; a damaged cached blob too', async () => {
    server.corruptions.set('onnx/text_encoder.onnx', 1);
    server.corruptions.set('config.json', 1);
    const r = await pull();
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/refused onnx\/text_encoder\.onnx: sha256 [0-9a-f]{12}\.\.\., the hub lists [0-9a-f]{12}\.\.\.; fetching it again/);
    expect(r.stderr).toMatch(/refused config\.json: git sha1/);
    expect(server.gets('onnx/text_encoder.onnx')).toHaveLength(2);
    const enc = server.file('onnx/text_encoder.onnx');
    const blob = join(repoDir(), 'blobs', enc.sha256);
    expect(sha256(readFileSync(blob))).toBe(enc.sha256);

    // bit rot in the cache: the next pull notices and replaces it
    const bytes = readFileSync(blob);
    bytes[10] ^= 1;
    writeFileSync(blob, bytes);
    const again = await pull();
    expect(again.status).toBe(0);
    expect(again.stderr).toMatch(/the cached onnx\/text_encoder\.onnx does not match the hub's checksum/);
    expect(sha256(readFileSync(blob))).toBe(enc.sha256);
  });

  it('names a dtype the repository lacks, with the dtypes it has', async () => {
    const r = await pull(['--dtype', 'decoder=q4']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`error: "${ID}" has no onnx/decoder_model_merged_q4.onnx (--dtype decoder=q4; decoder is there as fp32, fp16, q8)\n`);
    expect(existsSync(join(repoDir(), 'blobs'))).toBe(false);
  });

  it('pulls per-graph dtypes: a q8 decoder beside an fp32 EnCodec', async () => {
    const r = await pull(['--dtype', 'q8,encodec=fp32']);
    expect(r.status).toBe(0);
    const paths = JSON.parse(r.stdout).files.map((f: { path: string }) => f.path);
    expect(paths).toEqual(expect.arrayContaining(['onnx/text_encoder_quantized.onnx', 'onnx/decoder_model_merged_quantized.onnx', 'onnx/encodec_decode.onnx']));
    expect(paths).not.toContain('onnx/encodec_decode_quantized.onnx');
  });

  it('offline: uses the cache, and names what is missing with the command that fetches it', async () => {
    const none = await pull([], { HF_HUB_OFFLINE: '1' });
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/^error: HF_HUB_OFFLINE is set, and the cache lacks what --dtype fp32 needs: "smitin-test\/musicgen-tiny" is not in the cache .*; run smitin pull smitin-test\/musicgen-tiny where the hub can be reached\n$/);
    expect(server.requests).toEqual([]);

    expect((await pull()).status).toBe(0);
    const cached = await pull([], { HF_HUB_OFFLINE: '1' });
    expect(cached.status).toBe(0);
    expect(JSON.parse(cached.stdout)).toMatchObject({ commit: server.commit, offline: 'HF_HUB_OFFLINE is set' });

    // the hub id of render, offline, with a dtype the cache does not hold
    const requests = server.requests.length;
    const q8 = await smitinAsync(['render', '--model', ID, '--dtype', 'q8', '--prompt', 'x', '--seconds', '0.1', '--out', join(home, 'x.wav')], { ...env, HF_HUB_OFFLINE: '1' });
    expect(q8.status).toBe(2);
    expect(q8.stderr).toMatch(/onnx\/text_encoder_quantized\.onnx \(--dtype q8; text_encoder is there as fp32\)/);
    expect(q8.stderr).toMatch(/run smitin pull smitin-test\/musicgen-tiny --dtype q8 where the hub can be reached\n$/);
    expect(server.requests.length).toBe(requests);

    // no network at all (the server is gone): the same, said as such
    await server.stop();
    const gone = await smitinAsync(['render', '--model', ID, '--dtype', 'q8', '--prompt', 'x', '--seconds', '0.1', '--out', join(home, 'x.wav')], env);
    expect(gone.status).toBe(2);
    expect(gone.stderr).toMatch(/^error: --model "smitin-test\/musicgen-tiny": no such folder here; as a hub id: "http:\/\/127\.0\.0\.1:\d+" cannot be reached \(ECONNREFUSED\), and the cache lacks/);
  });

  it('a --model hub id is pulled on first use, then played from the cache without asking the hub', async () => {
    const out = join(home, 'first.wav');
    const r = await smitinAsync(['render', '--model', ID, '--prompt', '80s pop', '--seconds', '0.2', '--threads', '1', '--out', out, '--json'], env);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/pulling smitin-test\/musicgen-tiny/);
    expect(JSON.parse(r.stdout).model).toBe(join(repoDir(), 'snapshots', server.commit));
    const seen = server.requests.length;
    const again = await smitinAsync(['render', '--model', ID, '--prompt', '80s pop', '--seconds', '0.2', '--threads', '1', '--out', join(home, 'second.wav')], env);
    expect(again.status).toBe(0);
    expect(server.requests.length).toBe(seen);
  });

  it('every command that takes --model takes a hub id: prepare pulls the fp16 decoder on first use and prepares it in the snapshot', async () => {
    const r = await smitinAsync(['prepare', '--model', ID, '--dtype', 'decoder=fp16', '--json'], env);
    expect(r.stderr).not.toMatch(/error/);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).out).toBe(join(repoDir(), 'snapshots', server.commit, 'onnx', 'decoder_model_merged_fp16.iti.onnx'));
    expect(server.gets('onnx/decoder_model_merged_fp16.onnx')).toHaveLength(1);
    expect(server.gets(DECODER)).toHaveLength(0);
  });

  it('a gated model without a token is refused with what to set', async () => {
    const r = await pull([], { HF_TOKEN: '' });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`error: "${ID}": the hub refused access (HTTP 401): a gated or private model; set HF_TOKEN to a token that may read it\n`);
  });
});
