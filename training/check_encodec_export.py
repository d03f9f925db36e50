#!/usr/bin/env python3
"""export_encodec_encoder.py on random-weight checkpoints made by transformers itself (no download):

- a MusicgenForConditionalGeneration whose audio_encoder has facebook/musicgen-small's EnCodec shape
  (encodec_32khz: 64 filters, hop 640, 4 codebooks of 2048): exported, checked against PyTorch, and
  timed in onnxruntime (multiple of real time on one thread and on all);
- a narrow EnCodec with the same hop and codebooks: exported into OUT/encodec-hf-tiny/ with 16-bit audio and
  PyTorch's codes for it (copied to test/fixtures/encodec-hf-tiny/), so the Node side (test/model/encodec-encoder-hf.test.ts) can check that
  smitin's EncodecEncoder reads transformers' own export and gives PyTorch's codes.

    python3 training/check_encodec_export.py --out /tmp/encodec-check

Needs torch, transformers, onnx, onnxruntime. Every random codebook is filled (transformers starts
them at zero, which would make every code 0 and the check empty).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export_encodec_encoder as ee  # noqa: E402

SMALL_ENCODEC = dict(num_filters=64, hidden_size=128, codebook_dim=128)  # facebook/musicgen-small's audio_encoder
TINY_ENCODEC = dict(num_filters=4, hidden_size=8, codebook_dim=8)
SAMPLING_RATE = 32000
FIXTURE_SECONDS = 1.3


def encodec_config(widths: dict):
    from transformers import EncodecConfig

    return EncodecConfig(
        sampling_rate=SAMPLING_RATE, audio_channels=1, upsampling_ratios=[8, 5, 4, 4], codebook_size=2048,
        target_bandwidths=[2.2], normalize=False, use_causal_conv=False, chunk_length_s=None, overlap=None,
        num_lstm_layers=2, num_residual_layers=1, norm_type="weight_norm", pad_mode="reflect", compress=2,
        kernel_size=7, last_kernel_size=7, residual_kernel_size=3, dilation_growth_rate=2,
        use_conv_shortcut=False, trim_right_ratio=1.0, **widths)


@torch.no_grad()
def fill_codebooks(encodec, seed: int):
    """Codebook entries drawn from the encoder's own residuals (as EnCodec's k-means init does), so codes vary."""
    g = torch.Generator().manual_seed(seed)
    audio = 0.2 * torch.randn(4, 1, SAMPLING_RATE * 2, generator=g)
    emb = encodec.encoder(audio)  # [B, D, T]
    x = emb.transpose(1, 2).reshape(-1, emb.shape[1])
    for layer in encodec.quantizer.layers:
        embed = layer.codebook.embed
        rows = x[torch.randint(0, x.shape[0], (embed.shape[0],), generator=g)]
        embed.copy_(rows + 0.1 * x.std() * torch.randn(rows.shape, generator=g))
        if hasattr(layer.codebook, "embed_avg"):
            layer.codebook.embed_avg.copy_(embed)
        nearest = torch.cdist(x, embed).argmin(-1)
        x = x - embed[nearest]


@torch.no_grad()
def random_musicgen(folder: str, widths: dict, seed: int):
    """A random MusicgenForConditionalGeneration saved as a checkpoint folder, as a hub download would be."""
    from transformers import MusicgenConfig, MusicgenDecoderConfig, MusicgenForConditionalGeneration, T5Config

    torch.manual_seed(seed)
    text = T5Config(vocab_size=64, d_model=16, d_kv=4, d_ff=32, num_layers=1, num_heads=4)
    decoder = MusicgenDecoderConfig(vocab_size=2048, num_codebooks=4, hidden_size=16, num_hidden_layers=1,
                                    num_attention_heads=4, ffn_dim=32, max_position_embeddings=64)
    config = MusicgenConfig(text_encoder=text.to_dict(), audio_encoder=encodec_config(widths).to_dict(),
                            decoder=decoder.to_dict())
    model = MusicgenForConditionalGeneration(config).eval()
    fill_codebooks(model.audio_encoder, seed)
    model.save_pretrained(folder)


@torch.no_grad()
def random_encodec(folder: str, widths: dict, seed: int):
    from transformers import EncodecModel

    torch.manual_seed(seed)
    model = EncodecModel(encodec_config(widths)).eval()
    fill_codebooks(model, seed)
    model.save_pretrained(folder)


def timing(path: str, seconds: float = 10.0) -> dict:
    import onnxruntime as ort

    audio = (0.1 * np.random.default_rng(3).standard_normal((1, 1, int(SAMPLING_RATE * seconds)))).astype(np.float32)
    out = {}
    for threads in (1, os.cpu_count() or 1):
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        s = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
        s.run(None, {ee.INPUT: audio})
        t0 = time.perf_counter()
        s.run(None, {ee.INPUT: audio})
        ms = 1000 * (time.perf_counter() - t0)
        out[threads] = ms
        print(f"  encode {seconds:.0f} s of audio on {threads} thread(s): {ms:.0f} ms (x{1000 * seconds / ms:.0f} real time)")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    report = {"torch": torch.__version__}
    import onnxruntime
    import transformers
    report.update(transformers=transformers.__version__, onnxruntime=onnxruntime.__version__)
    with tempfile.TemporaryDirectory() as tmp:
        print("musicgen-small's EnCodec shape, through a MusicgenForConditionalGeneration folder", flush=True)
        ckpt, model_out = os.path.join(tmp, "musicgen-random"), os.path.join(tmp, "export-small")
        random_musicgen(ckpt, SMALL_ENCODEC, seed=1)
        ee.main(["--model", ckpt, "--out", model_out])
        path = os.path.join(model_out, "onnx", "encodec_encode.onnx")
        report["small"] = {"mb": os.path.getsize(path) / 1e6, "encode_10s_ms": timing(path)}

        print("narrow EnCodec for the Node fixture, through an EncodecModel folder", flush=True)
        ckpt = os.path.join(tmp, "encodec-tiny")
        random_encodec(ckpt, TINY_ENCODEC, seed=2)
        fixture = os.path.join(args.out, "encodec-hf-tiny")
        ee.main(["--model", ckpt, "--out", fixture])
        # the fixture is flat: the Node test opens the graph itself, not a model folder
        os.replace(os.path.join(fixture, "onnx", "encodec_encode.onnx"), os.path.join(fixture, "encodec_encode.onnx"))
        os.rmdir(os.path.join(fixture, "onnx"))
        encodec = ee.load_encodec(ckpt)
        n = int(SAMPLING_RATE * FIXTURE_SECONDS)
        t = np.arange(n) / SAMPLING_RATE
        tone = 0.3 * np.sin(2 * np.pi * 196.0 * t) * np.exp(-2 * t) + 0.2 * np.sin(2 * np.pi * 293.7 * t)
        noise = 0.05 * np.random.default_rng(4).standard_normal(n)
        pcm = np.clip(np.round((tone + noise) * 32767), -32768, 32767).astype("<i2")
        audio = (pcm.astype(np.float32) / 32768.0).reshape(1, 1, n)
        codes = ee.EncodeGraph(encodec)(torch.from_numpy(audio)).numpy().astype("<i8")
        pcm.tofile(os.path.join(fixture, "audio.pcm16"))
        codes.tofile(os.path.join(fixture, "codes.i64"))
        meta = {"samples": n, "sampling_rate": SAMPLING_RATE, "codes_shape": list(codes.shape),
                "distinct_codes_per_codebook": [int(len(np.unique(codes[0, 0, k]))) for k in range(codes.shape[2])],
                "made_by": "training/check_encodec_export.py", **report}
        with open(os.path.join(fixture, "meta.json"), "w") as f:
            json.dump(meta, f, indent=2)
        print(json.dumps(meta, indent=2))
    with open(os.path.join(args.out, "report.json"), "w") as f:
        json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()
