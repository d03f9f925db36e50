#!/usr/bin/env python3
"""A random-weight MusicGen with the real MusicGen contract, in the optimum / transformers.js layout.

Unlike tinyband, everything follows facebook/musicgen-small's conventions: 2048 codes per codebook with
pad = BOS = 2048, 4 codebooks, a T5 Unigram tokenizer, an EnCodec-like `encodec_decode.onnx` at 32 kHz
(640 samples a frame, 50 frames a second), and an EnCodec-like `encodec_encode.onnx` (audio -> codes, for probe
data from audio stems). The weights are random (seeded): the folder is for testing the runtime's loading,
stepping, decoding and encoding, not for listening.

    /usr/bin/python3 training/make_musicgen_fixture.py                      # tiny, into test/fixtures/musicgen-tiny
    /usr/bin/python3 training/make_musicgen_fixture.py --shape small --out /tmp/musicgen-small-random

--shape small has musicgen-small's exact decoder (d 1024, 24 layers, 16 heads, ffn 4096, 2048 positions)
and a one-layer T5 text encoder of width 768 (T5-base's output width); its encodec_decode.onnx is the tiny
one (so the runtime loads the folder; it does not time EnCodec). It is never committed.
The decoder graphs come from training/export.py (export_decoder, merge); every graph is checked against
PyTorch in onnxruntime-node (training/run_onnx.mjs), and the tokenizer in @huggingface/tokenizers.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export as ex  # noqa: E402
import to_fp16  # noqa: E402
import to_q8  # noqa: E402
from tinyband import text as tb_text  # noqa: E402
from tinyband.model import DecoderConfig, MusicgenForConditionalGeneration, TextConfig, TinybandConfig  # noqa: E402

REPO = ex.REPO
FIXTURE = os.path.join(REPO, "test", "fixtures", "musicgen-tiny")
CODEBOOK_SIZE = 2048  # codes per codebook; id 2048 is pad = BOS = decoder_start_token_id
NUM_CODEBOOKS = 4
SAMPLING_RATE, HOP = 32000, 640  # EnCodec 32 kHz: 50 frames a second
UPSAMPLING_RATIOS = (8, 5, 4, 4)  # product 640, as musicgen-small's audio_encoder
ENCODER_CHANNELS = (4, 8, 8, 8)  # the tiny encodec_encode.onnx's conv widths, one per downsampling stage

SHAPES = {
    "tiny": dict(
        text=dict(d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4),
        decoder=dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, ffn_dim=64, max_position_embeddings=256),
        max_length=256, codec=dict(codebook_dim=4, channels=(8, 8, 8, 4, 4)),
    ),
    # musicgen-small's decoder exactly; the text encoder only has T5-base's width (768), not its depth
    "small": dict(
        text=dict(d_model=768, d_kv=64, d_ff=3072, num_layers=1, num_heads=12),
        decoder=dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, ffn_dim=4096,
                     max_position_embeddings=2048),
        # the tiny codec, so that the runtime loads the folder; EnCodec's real cost is not in it
        max_length=1500, codec=dict(codebook_dim=4, channels=(8, 8, 8, 4, 4)),
    ),
}

# ----------------------------------------------------------------------------- T5-style Unigram tokenizer

SPECIAL = ["<pad>", "</s>", "<unk>"]  # ids 0, 1, 2 as T5
WORDS = """
a an the and with of in on for to at by from into no without some very more less
music song track tune piece loop beat beats groove rhythm melody melodic harmony chords chord riff riffs solo
intro outro verse chorus bridge drop break breakdown build
pop rock jazz funk funky house techno trance dubstep drum drums bass bassy synth synths synthesizer
piano pianos guitar guitars acoustic electric electronic orchestral orchestra cinematic classical ambient
ballad bossa nova samba latin reggae ska blues metal punk grunge indie folk country soul disco dance
hip hop trap rap lofi lo fi chill chillout chillwave synthwave retro vintage modern minimal minimalist
strings string violin violins cello viola brass trumpet trombone horn horns sax saxophone flute clarinet
choir vocals vocal voice voices kick snare hat hats claps clap percussion percussive cymbal cymbals toms
pad pads lead leads arp arpeggio arpeggios organ rhodes bell bells marimba xylophone harp ukulele banjo
808 909 bpm tempo fast slow mid upbeat downtempo steady driving
happy sad dark bright calm energetic mellow dreamy epic aggressive relaxing relaxed uplifting emotional
romantic groovy catchy warm cold deep heavy soft loud gentle smooth lush punchy crisp dirty clean
distorted reverb echo delay filtered atmospheric ethereal mysterious tense peaceful joyful melancholic
nostalgic powerful playful quiet hard hypnotic
80s 90s 70s 60s 00s major minor key instrumental background style sound sounds vibe vibes feel
summer night morning rain city space ocean sunset road party club festival game film movie
""".split()
SUFFIXES = ["s", "y", "er", "ers", "ed", "ing", "ly", "ic", "al", "ish"]
LETTERS = [chr(c) for c in range(ord("a"), ord("z") + 1)] + [chr(c) for c in range(ord("A"), ord("Z") + 1)]
DIGITS = [str(i) for i in range(10)]
PUNCT = list(".,!?'\"-:;()/&+%#*")


def tokenizer_vocab():
    """[piece, score]: T5's specials (score 0), then '▁', words, suffixes, single characters (each alone and
    word-initial). Unigram picks the segmentation with the best total score, so whole words win."""
    vocab = [[s, 0.0] for s in SPECIAL] + [["▁", -2.0]]
    seen = {p for p, _ in vocab}

    def add(piece, score):
        if piece not in seen:
            seen.add(piece)
            vocab.append([piece, round(score, 4)])

    for i, w in enumerate(WORDS):
        add("▁" + w, -6.0 - i * 1e-3)
    for i, s in enumerate(SUFFIXES):
        add(s, -8.0 - i * 1e-3)
    for i, c in enumerate(LETTERS + DIGITS + PUNCT):
        add("▁" + c, -11.0 - i * 1e-3)
        add(c, -12.0 - i * 1e-3)
    return vocab


def tokenizer_json() -> dict:
    """Hugging Face tokenizers format as T5's tokenizer.json (Unigram, Metaspace, </s> appended).
    T5's Precompiled normalizer (a sentencepiece charsmap) is NFKC here; T5's 100 <extra_id_*> are left out."""
    metaspace = {"type": "Metaspace", "replacement": "▁", "add_prefix_space": True, "prepend_scheme": "always",
                 "split": True}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False,
             "special": True}
            for i, t in enumerate(SPECIAL)
        ],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "NFKC"},
            {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "},
        ]},
        "pre_tokenizer": metaspace,
        "post_processor": tb_text.t5_post_processor(1),
        "decoder": metaspace,
        "model": {"type": "Unigram", "unk_id": 2, "vocab": tokenizer_vocab(), "byte_fallback": False},
    }


def tokenize(tokenizer_path: str, texts):
    """Tokenizes in @huggingface/tokenizers (node): [{text, ids, tokens, decoded}]."""
    out = subprocess.run(["node", os.path.join(REPO, "training", "tokenize.mjs"), tokenizer_path, *texts],
                         check=True, cwd=REPO, capture_output=True, text=True).stdout
    return json.loads(out)


def batch(encoded):
    width = max(len(e["ids"]) for e in encoded)
    ids = np.array([e["ids"] + [0] * (width - len(e["ids"])) for e in encoded], dtype=np.int64)
    mask = np.array([[1] * len(e["ids"]) + [0] * (width - len(e["ids"])) for e in encoded], dtype=np.int64)
    return ids, mask


# ----------------------------------------------------------------------------- EnCodec-like decoder


class TinyEncodecDecoder(nn.Module):
    """audio_codes [1, B, K, T] -> audio_values [B, 1, T * 640], as EncodecModel.decode's ONNX export.

    Sum of K codebook embeddings (EnCodec's residual quantizer decode), a frame-level conv (kernel 3), then
    ConvTranspose1d stages (kernel 2r, stride r, trimmed to exactly r per input) with strides 8, 5, 4, 4,
    a sample-level conv (kernel 7) and tanh. One frame reaches about two frames either side, so decoding
    in overlapping chunks gives the same samples away from the chunk edges.
    """

    def __init__(self, codebook_dim: int, channels):
        super().__init__()
        self.codebooks = nn.ModuleList([nn.Embedding(CODEBOOK_SIZE, codebook_dim) for _ in range(NUM_CODEBOOKS)])
        self.conv_in = nn.Conv1d(codebook_dim, channels[0], 3, padding=1)
        self.ups = nn.ModuleList([nn.ConvTranspose1d(channels[i], channels[i + 1], 2 * r, stride=r)
                                  for i, r in enumerate(UPSAMPLING_RATIOS)])
        self.conv_out = nn.Conv1d(channels[-1], 1, 7, padding=3)

    def forward(self, audio_codes):
        codes = audio_codes[0]  # [B, K, T]
        x = sum(self.codebooks[k](codes[:, k]) for k in range(NUM_CODEBOOKS)).transpose(1, 2)  # [B, C, T]
        x = self.conv_in(x)
        for r, up in zip(UPSAMPLING_RATIOS, self.ups):
            x = up(F.elu(x))  # length L * r + r
            left = r // 2
            x = x[..., left : x.shape[-1] - (r - left)]
        return torch.tanh(self.conv_out(F.elu(x)))


def export_encodec(codec, path: str):
    codes = torch.randint(0, CODEBOOK_SIZE, (1, 2, NUM_CODEBOOKS, 5))
    torch.onnx.export(codec, (codes,), path, opset_version=ex.OPSET, input_names=["audio_codes"],
                      output_names=["audio_values"],
                      dynamic_axes={"audio_codes": {1: "batch_size", 3: "sequence_length"},
                                    "audio_values": {0: "batch_size", 2: "audio_length"}})


class TinyEncodecEncoder(nn.Module):
    """input_values [B, 1, N] float32 -> audio_codes [1, B, K, ceil(N / 640)] int64, as EncodecModel.encode
    returns them (transformers' modeling_encodec.py: codes stacked over chunks, one chunk when chunk_length_s is
    None as in MusicGen's encodec_32khz; normalize false, so no scales and no padding_mask needed).

    Strided convs (kernel = stride = 4, 4, 5, 8: product 640) after a right pad of 639 zeros, so that a partial
    last frame still gives a frame: frames = ceil(N / 640), the count EnCodec's padded convs give
    (`_get_extra_padding_for_conv1d`). Then a frame-level conv (kernel 3) to the codebook width and a residual
    vector quantiser over the K codebooks the decoder embeds (nearest entry by squared distance, ArgMin), so
    that encode -> decode is a (very lossy) round trip through the same codes.
    """

    def __init__(self, decoder: "TinyEncodecDecoder", channels):
        super().__init__()
        ratios = tuple(reversed(UPSAMPLING_RATIOS))
        widths = (1,) + tuple(channels)
        self.downs = nn.ModuleList([nn.Conv1d(widths[i], widths[i + 1], r, stride=r) for i, r in enumerate(ratios)])
        dim = decoder.codebooks[0].embedding_dim
        self.conv_out = nn.Conv1d(widths[len(ratios)], dim, 3, padding=1)
        self.register_buffer("codebook", torch.stack([e.weight.detach().clone() for e in decoder.codebooks]))
        self.register_buffer("gain", torch.ones(()))
        with torch.no_grad():  # scale the latents to the codebooks' spread, so that every codebook is used
            probe = 0.3 * torch.randn(4, 1, HOP * 50)
            self.gain.fill_(float(self.codebook.std() / self.latents(probe).std()))

    def latents(self, input_values):
        x = F.pad(input_values, (0, HOP - 1))
        for i, down in enumerate(self.downs):
            x = down(x if i == 0 else F.elu(x))
        return self.conv_out(F.elu(x)).transpose(1, 2) * self.gain  # [B, T, D]

    def forward(self, input_values):
        residual = self.latents(input_values)
        codes = []
        for k in range(NUM_CODEBOOKS):
            book = self.codebook[k]  # [2048, D]
            dist = (residual * residual).sum(-1, keepdim=True) - 2 * residual @ book.t() + (book * book).sum(-1)
            index = dist.argmin(-1)  # [B, T]
            codes.append(index)
            residual = residual - F.embedding(index, book)
        return torch.stack(codes, 1).unsqueeze(0)  # [1, B, K, T]


def export_encodec_encoder(encoder, path: str):
    audio = 0.1 * torch.randn(2, 1, HOP * 3 + 17)
    torch.onnx.export(encoder, (audio,), path, opset_version=ex.OPSET, input_names=["input_values"],
                      output_names=["audio_codes"],
                      dynamic_axes={"input_values": {0: "batch_size", 2: "num_samples"},
                                    "audio_codes": {1: "batch_size", 3: "num_frames"}})


CODES_RUNNER = r"""
import { readFileSync, writeFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
const [model, input, dims, out] = process.argv.slice(1);
const bytes = readFileSync(input);
const values = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1 });
const result = await session.run({ input_values: new ort.Tensor('float32', values, JSON.parse(dims)) });
const codes = result.audio_codes;
if (codes.type !== 'int64') throw new Error(`audio_codes is ${codes.type}, expected int64`);
writeFileSync(out, codes.data);
writeFileSync(out + '.json', JSON.stringify(codes.dims));
"""


@torch.no_grad()
def check_encoder(encoder, path: str):
    """encodec_encode.onnx in onnxruntime-node against PyTorch: codes equal at several lengths and batches
    (training/run_onnx.mjs reads float outputs only; the int64 codes go through a small runner of their own)."""
    rng = np.random.default_rng(1)
    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        for b, n in ((1, HOP * 5), (2, HOP * 7 + 1), (1, 1), (3, HOP * 2 - 1)):
            audio = (0.3 * rng.standard_normal((b, 1, n))).astype(np.float32)
            audio.tofile(os.path.join(tmp, "in.bin"))
            out = os.path.join(tmp, "codes.bin")
            subprocess.run(["node", "--input-type=module", "-e", CODES_RUNNER, path, os.path.join(tmp, "in.bin"),
                            json.dumps(list(audio.shape)), out], check=True, cwd=REPO)
            dims = json.load(open(out + ".json"))
            got = np.fromfile(out, dtype=np.int64).reshape(dims)
            expected = encoder(torch.from_numpy(audio)).numpy()
            frames = -(-n // HOP)
            assert expected.shape == (1, b, NUM_CODEBOOKS, frames), expected.shape
            assert got.shape == expected.shape, f"shape {got.shape} != {expected.shape}"
            figures[f"encodec_encode [{b}, 1, {n}] -> {list(got.shape)}"] = int((got != expected).sum())
    for name, value in figures.items():
        print(f"  codes differing onnx vs torch {name:38s} {value}")
    used = [len(np.unique(expected[0, :, k])) for k in range(NUM_CODEBOOKS)]
    print(f"  encodec_encode: distinct codes per codebook in the last check: {used}")
    if any(figures.values()):
        sys.exit("check failed: encodec_encode.onnx codes differ from PyTorch's")
    return figures


# ----------------------------------------------------------------------------- configs


def write_configs(model, out: str, shape: dict, tokenizer: dict):
    t, d = model.config.text_encoder, model.config.decoder
    config = {
        "_name_or_path": f"smitin-live/musicgen-random-{shape['name']}",
        "architectures": ["MusicgenForConditionalGeneration"],
        "model_type": "musicgen",
        "is_encoder_decoder": True,
        "torch_dtype": "float32",
        "decoder": {
            "model_type": "musicgen_decoder", "vocab_size": d.vocab_size, "num_codebooks": d.num_codebooks,
            "hidden_size": d.hidden_size, "num_hidden_layers": d.num_hidden_layers,
            "num_attention_heads": d.num_attention_heads, "ffn_dim": d.ffn_dim,
            "max_position_embeddings": d.max_position_embeddings, "pad_token_id": d.pad_token_id,
            "bos_token_id": d.bos_token_id, "audio_channels": 1, "activation_function": "gelu",
            "dropout": 0.1, "attention_dropout": 0.0, "activation_dropout": 0.0, "classifier_dropout": 0.0,
            "layerdrop": 0.0, "scale_embedding": False, "tie_word_embeddings": False, "use_cache": True,
            "initializer_factor": 0.02,
        },
        "text_encoder": {
            "model_type": "t5", "_name_or_path": "t5-base", "architectures": ["T5ForConditionalGeneration"],
            "vocab_size": t.vocab_size, "d_model": t.d_model, "d_kv": t.d_kv, "d_ff": t.d_ff,
            "num_layers": t.num_layers, "num_decoder_layers": t.num_layers, "num_heads": t.num_heads,
            "relative_attention_num_buckets": t.relative_attention_num_buckets,
            "relative_attention_max_distance": t.relative_attention_max_distance,
            "layer_norm_epsilon": t.layer_norm_epsilon, "dropout_rate": 0.1, "initializer_factor": 1.0,
            "feed_forward_proj": "relu", "dense_act_fn": "relu", "is_gated_act": False,
            "is_encoder_decoder": True, "decoder_start_token_id": 0,
            "pad_token_id": t.pad_token_id, "eos_token_id": t.eos_token_id,
        },
        "audio_encoder": {
            "model_type": "encodec", "_name_or_path": "facebook/encodec_32khz", "architectures": ["EncodecModel"],
            "sampling_rate": SAMPLING_RATE, "frame_rate": SAMPLING_RATE // HOP, "audio_channels": 1,
            "codebook_size": CODEBOOK_SIZE, "codebook_dim": 128, "hidden_size": 128, "num_filters": 64,
            "upsampling_ratios": list(UPSAMPLING_RATIOS), "target_bandwidths": [2.2], "chunk_length_s": None,
            "overlap": None, "normalize": False, "use_causal_conv": False, "kernel_size": 7,
            "last_kernel_size": 7, "residual_kernel_size": 3, "num_residual_layers": 1, "num_lstm_layers": 2,
            "dilation_growth_rate": 2, "compress": 2, "norm_type": "weight_norm", "pad_mode": "reflect",
            "trim_right_ratio": 1.0, "use_conv_shortcut": False,
        },
    }
    generation = {
        "_from_model_config": False, "bos_token_id": d.bos_token_id, "decoder_start_token_id": d.pad_token_id,
        "pad_token_id": d.pad_token_id, "do_sample": True, "guidance_scale": 3.0, "top_k": 250,
        "max_length": shape["max_length"],
    }
    tokenizer_config = {
        "tokenizer_class": "T5Tokenizer", "eos_token": "</s>", "pad_token": "<pad>", "unk_token": "<unk>",
        "model_max_length": 512, "extra_ids": 0, "additional_special_tokens": [],
        "clean_up_tokenization_spaces": True,
    }
    for name, obj in (("config.json", config), ("generation_config.json", generation),
                      ("tokenizer_config.json", tokenizer_config), ("tokenizer.json", tokenizer)):
        with open(os.path.join(out, name), "w", encoding="utf-8") as f:
            json.dump(obj, f, indent=2 if name != "tokenizer.json" else None, ensure_ascii=False)
            f.write("\n")


# ----------------------------------------------------------------------------- checks


def diff(a, b):
    b = b.numpy() if isinstance(b, torch.Tensor) else b
    assert a.shape == tuple(b.shape), f"shape {a.shape} != {tuple(b.shape)}"
    return float(np.abs(a - b).max()) if a.size else 0.0


@torch.no_grad()
def check(model, codec, onnx_dir: str, text_ids, text_mask, prompt_steps: int):
    """ONNX (onnxruntime-node) against PyTorch: text encoder; decoder no-past over a CFG batch (prompt, then a
    zero-state zero-mask unconditional row) and one with-past step; encodec_decode at two lengths and batches."""
    d = model.config.decoder
    layers, heads, head_dim = d.num_hidden_layers, d.num_attention_heads, d.hidden_size // d.num_attention_heads
    rng = np.random.default_rng(0)
    states = model.encode_text(torch.from_numpy(text_ids), torch.from_numpy(text_mask))
    enc_states = torch.cat([states[:1], torch.zeros_like(states[:1])])
    enc_mask = torch.from_numpy(np.stack([text_mask[0], np.zeros_like(text_mask[0])]))
    ids = torch.from_numpy(ex.prompt_ids(d, prompt_steps, rng))
    logits, presents = model(ids, enc_states, enc_mask)
    step = torch.from_numpy(np.concatenate([rng.integers(0, d.vocab_size, size=(d.num_codebooks, 1))] * 2).astype(np.int64))
    step_logits, step_presents = model(step, enc_states, enc_mask, presents)

    flat = [t.numpy() for p in presents for t in p]
    empty = np.zeros((2, heads, 0, head_dim), dtype=np.float32)
    common = {"encoder_hidden_states": enc_states.numpy(), "encoder_attention_mask": enc_mask.numpy()}
    decoder = os.path.join(onnx_dir, "decoder_model_merged.onnx")
    jobs = [
        (os.path.join(onnx_dir, "text_encoder.onnx"), {"input_ids": text_ids, "attention_mask": text_mask}),
        (decoder, {"input_ids": ids.numpy(), **common, **{n: empty for n in ex.kv_names("past_key_values", layers)},
                   "use_cache_branch": np.array([False])}),
        (decoder, {"input_ids": step.numpy(), **common, **dict(zip(ex.kv_names("past_key_values", layers), flat)),
                   "use_cache_branch": np.array([True])}),
    ]
    codes = []
    if codec is not None:
        codes = [rng.integers(0, CODEBOOK_SIZE, size=(1, b, NUM_CODEBOOKS, t)).astype(np.int64) for b, t in ((2, 7), (1, 3))]
        jobs += [(os.path.join(onnx_dir, "encodec_decode.onnx"), {"audio_codes": c}) for c in codes]
    start = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        results = ex.run_onnx(jobs, tmp)
    print(f"  onnxruntime-node: {time.time() - start:.1f} s")
    text_out, first, second = results[:3]
    present_names = ex.kv_names("present", layers)
    figures = {
        "text_encoder last_hidden_state": diff(text_out["last_hidden_state"], states),
        f"no-past logits ({prompt_steps} steps)": diff(first["logits"], logits),
        "no-past present.*": max(diff(first[n], t) for n, t in zip(present_names, [t for p in presents for t in p])),
        "with-past logits (1 step)": diff(second["logits"], step_logits),
        "with-past present.*.decoder": max(diff(second[n], t) for n, t in
                                           zip(present_names, [t for p in step_presents for t in p]) if ".decoder." in n),
    }
    for c, r in zip(codes, results[3:]):
        expected = codec(torch.from_numpy(c))
        assert expected.shape == (c.shape[1], 1, c.shape[3] * HOP), expected.shape
        figures[f"encodec_decode {list(c.shape)} -> {list(expected.shape)}"] = diff(r["audio_values"], expected)
    for name, value in figures.items():
        print(f"  max |onnx - torch| {name:40s} {value:.2e}")
    bad_enc = [n for n in present_names if ".encoder." in n and second[n].shape != (0, heads, 1, head_dim)]
    if bad_enc or max(figures.values()) > ex.TOLERANCE:
        sys.exit(f"check failed: differences above {ex.TOLERANCE} or unexpected encoder presents {bad_enc}")
    return figures


@torch.no_grad()
def check_receptive_field(codec):
    """Changing one frame changes the audio of only a few frames around it."""
    codes = torch.randint(0, CODEBOOK_SIZE, (1, 1, NUM_CODEBOOKS, 24))
    changed = codes.clone()
    changed[..., 12] = (changed[..., 12] + 1) % CODEBOOK_SIZE
    delta = (codec(codes) - codec(changed)).abs()[0, 0].reshape(24, HOP).amax(1)
    frames = (delta > 0).nonzero().flatten().tolist()
    print(f"  encodec receptive field: changing frame 12 changes frames {frames[0]}..{frames[-1]}")
    return frames


# ----------------------------------------------------------------------------- main


def size_of(path):
    return sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(path) for f in fs)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shape", choices=sorted(SHAPES), default="tiny")
    p.add_argument("--out", help=f"model folder (default for tiny: {os.path.relpath(FIXTURE, REPO)})")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--skip-check", action="store_true", help="write the files without the ONNX-vs-PyTorch check")
    args = p.parse_args()
    if args.out is None:
        if args.shape != "tiny":
            p.error("--out is required for --shape small (it is never committed)")
        args.out = FIXTURE
    shape = dict(SHAPES[args.shape], name=args.shape)
    warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
    warnings.filterwarnings("ignore", message="The shape inference of prim::Constant")
    warnings.filterwarnings("ignore", message="Constant folding - Only steps=1")
    torch.set_num_threads(1 if args.shape == "tiny" else 2)
    started = time.time()

    out = os.path.abspath(args.out)
    onnx_dir = os.path.join(out, "onnx")
    os.makedirs(onnx_dir, exist_ok=True)
    tokenizer = tokenizer_json()
    tok_path = os.path.join(out, "tokenizer.json")
    with open(tok_path, "w", encoding="utf-8") as f:
        json.dump(tokenizer, f, ensure_ascii=False)

    torch.manual_seed(args.seed)
    text = TextConfig(vocab_size=len(tokenizer["model"]["vocab"]), relative_attention_num_buckets=32,
                      relative_attention_max_distance=128, **shape["text"])
    dec = DecoderConfig(vocab_size=CODEBOOK_SIZE, num_codebooks=NUM_CODEBOOKS, pad_token_id=CODEBOOK_SIZE,
                        bos_token_id=CODEBOOK_SIZE, **shape["decoder"])
    model = MusicgenForConditionalGeneration(TinybandConfig(text_encoder=text, decoder=dec)).eval()
    codec = TinyEncodecDecoder(**shape["codec"]).eval() if shape["codec"] else None
    print(f"built {args.shape}: {sum(p.numel() for p in model.parameters()) / 1e6:.2f} M parameters"
          f" ({time.time() - started:.0f} s)")

    prompts = ["80s pop track with bassy drums and synth", "Lo-fi hip hop beat, 90 BPM!",
               "ambient pads and a warm piano", "xyzzy ✓"]
    encoded = tokenize(tok_path, prompts)
    for e in encoded:
        print(f"  tokenizer: {e['text']!r} -> {e['tokens']} {e['ids']} -> {e['decoded']!r}")
    assert all(e["ids"][-1] == 1 and e["tokens"][-1] == "</s>" for e in encoded)
    assert max(max(e["ids"]) for e in encoded) < text.vocab_size
    text_ids, text_mask = batch(encoded[:2])

    t0 = time.time()
    ex.export_text_encoder(model, os.path.join(onnx_dir, "text_encoder.onnx"),
                           example=(text_ids.tolist(), text_mask.tolist()))
    with tempfile.TemporaryDirectory() as tmp:
        branches = []
        for with_past in (False, True):
            path = os.path.join(tmp, f"decoder_{'with_past' if with_past else 'no_past'}.onnx")
            ex.export_decoder(model, path, with_past)
            branches.append(onnx.load(path))
    print(f"  exported the decoder branches ({time.time() - t0:.0f} s)")
    merged = ex.merge(*branches, dec)
    del branches
    merged.producer_name = "smitin-live make_musicgen_fixture"
    dest = os.path.join(onnx_dir, "decoder_model_merged.onnx")
    if merged.ByteSize() > 2**31 - 1:  # protobuf's limit: weights beside the graph, as optimum does
        onnx.save(merged, dest, save_as_external_data=True, all_tensors_to_one_file=True,
                  location="decoder_model_merged.onnx_data", size_threshold=1024)
    else:
        onnx.save(merged, dest)
    del merged
    if codec is not None:
        export_encodec(codec, os.path.join(onnx_dir, "encodec_decode.onnx"))
    write_configs(model, out, shape, tokenizer)
    if args.shape == "tiny":  # the _fp16 variants (training/to_fp16.py) that --dtype fp16 is tested on
        for graph in to_fp16.GRAPHS:
            to_fp16.convert(os.path.join(onnx_dir, f"{graph}.onnx"), os.path.join(onnx_dir, f"{graph}_fp16.onnx"))
        for graph in to_q8.GRAPHS:  # and the _quantized ones (training/to_q8.py) for --dtype q8
            to_q8.convert(os.path.join(onnx_dir, f"{graph}.onnx"), os.path.join(onnx_dir, f"{graph}{to_q8.SUFFIX}.onnx"))
    print(f"  wrote ONNX and configs ({time.time() - t0:.0f} s)")
    for f in sorted(os.listdir(onnx_dir)):
        print(f"  onnx/{f}: {os.path.getsize(os.path.join(onnx_dir, f)) / 1e6:.3f} MB")

    if not args.skip_check:
        check(model, codec, onnx_dir, text_ids, text_mask, prompt_steps=10 if args.shape == "tiny" else 2)
        if args.shape == "tiny":
            to_fp16.check(out)
            to_fp16.check(out, variant=to_q8.SUFFIX)
    if codec is not None:
        check_receptive_field(codec)
    if args.shape == "tiny":  # encodec_encode.onnx: its own seed, after the rest, so the other files stay as they were
        torch.manual_seed(args.seed + 1)
        encoder = TinyEncodecEncoder(codec, ENCODER_CHANNELS).eval()
        encoder_path = os.path.join(onnx_dir, "encodec_encode.onnx")
        export_encodec_encoder(encoder, encoder_path)
        print(f"  onnx/encodec_encode.onnx: {os.path.getsize(encoder_path) / 1e6:.3f} MB")
        if not args.skip_check:
            check_encoder(encoder, encoder_path)
    print(f"wrote {out}: {size_of(out) / 1e6:.2f} MB in {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
