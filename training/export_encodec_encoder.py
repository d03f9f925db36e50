#!/usr/bin/env python3
"""Export EnCodec's encoder from a transformers checkpoint as `onnx/encodec_encode.onnx`, the file
smitin needs to turn audio into codes (probes from stems, `probes train --examples-with`).

optimum and the transformers.js exports (Xenova/musicgen-small, ...) ship `encodec_decode.onnx` only.
This script makes the encoder with the contract src/model/codec/encodec/encoder.ts checks:

    input_values  float32 [batch, 1, samples]               mono audio at config.audio_encoder.sampling_rate
    audio_codes   int64   [1, batch, codebooks, frames]     frames = ceil(samples / hop), as EncodecModel.encode

    python3 training/export_encodec_encoder.py --model facebook/musicgen-small --out ~/models/musicgen-small
    python3 training/export_encodec_encoder.py --model DIR --out DIR            # a local checkpoint folder

--model is a MusicgenForConditionalGeneration (its audio_encoder is taken) or an EncodecModel, a hub id
or a folder; --out is the model folder smitin plays (the file goes to OUT/onnx/). Needs torch,
transformers, onnx and onnxruntime (pip install torch transformers onnx onnxruntime). Every export is
checked against PyTorch in onnxruntime at several lengths and batch sizes and refused when the codes
differ; --no-check skips that. The graph needs at least 4 frames of audio (2560 samples at 32 kHz): below
that, the reflect padding PyTorch widens for very short input is fixed in the traced graph.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import torch

OPSET = 17
INPUT, OUTPUT = "input_values", "audio_codes"
# Fraction of codes allowed to differ from PyTorch's: argmin over a 2048-entry codebook can flip on a
# near-tie when onnxruntime sums in another order; more than this is a wrong graph, not rounding.
MAX_DIFFERENT = 1e-3


class EncodeGraph(torch.nn.Module):
    """EncodecModel.encode's codes alone: one chunk (MusicGen's EnCodec has chunk_length_s null)."""

    def __init__(self, encodec):
        super().__init__()
        self.encodec = encodec

    def forward(self, input_values):
        out = self.encodec.encode(input_values)
        codes = out[0] if isinstance(out, (tuple, list)) else out.audio_codes
        return codes


def load_encodec(name: str):
    """The EnCodec of a MusicGen checkpoint, or an EnCodec checkpoint itself (hub id or folder)."""
    from transformers import AutoConfig, EncodecModel, MusicgenForConditionalGeneration

    config = AutoConfig.from_pretrained(name)
    if config.model_type == "encodec":
        return EncodecModel.from_pretrained(name).eval()
    if config.model_type == "musicgen":
        return MusicgenForConditionalGeneration.from_pretrained(name).audio_encoder.eval()
    sys.exit(f"{name}: model_type {config.model_type!r} is neither musicgen nor encodec")


def hop_of(encodec) -> int:
    return int(np.prod(encodec.config.upsampling_ratios))


def codebooks_of(encodec) -> int:
    cfg = encodec.config
    # EncodecModel.encode with bandwidth None uses the first target bandwidth
    bandwidth = cfg.target_bandwidths[0]
    frame_rate = cfg.sampling_rate / hop_of(encodec)
    return int(1000 * bandwidth // (frame_rate * np.log2(cfg.codebook_size)))


@torch.no_grad()
def export(encodec, path: str) -> str:
    """Writes the graph; returns the exporter that made it (the TorchScript one, else dynamo)."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    graph = EncodeGraph(encodec).eval()
    hop = hop_of(encodec)
    audio = 0.1 * torch.randn(2, 1, hop * 7 + 17)
    kwargs = dict(opset_version=OPSET, input_names=[INPUT], output_names=[OUTPUT],
                  dynamic_axes={INPUT: {0: "batch_size", 2: "num_samples"}, OUTPUT: {1: "batch_size", 3: "num_frames"}})
    try:
        torch.onnx.export(graph, (audio,), path, dynamo=False, **kwargs)
        return "torchscript"
    except TypeError:  # a torch without the dynamo switch: its one exporter
        torch.onnx.export(graph, (audio,), path, **kwargs)
        return "torchscript"
    except Exception as err:  # noqa: BLE001 - the other exporter may manage what this one cannot
        print(f"  the TorchScript exporter failed ({type(err).__name__}: {err}); trying dynamo", flush=True)
        torch.onnx.export(graph, (audio,), path, dynamo=True, **kwargs)
        return "dynamo"


@torch.no_grad()
def check(encodec, path: str, seed: int = 1) -> dict:
    """Codes of the ONNX graph in onnxruntime against EncodecModel.encode at several lengths and batches."""
    import onnxruntime as ort

    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    hop, k = hop_of(encodec), codebooks_of(encodec)
    rate = encodec.config.sampling_rate
    rng = np.random.default_rng(seed)
    figures = {}
    for batch, samples in ((1, hop * 50), (2, hop * 7 + 1), (1, rate * 3 + 123), (3, hop * 4 - 1)):
        t = np.arange(samples) / rate
        # a chord with noise, so the codes are not all one entry
        tone = sum(np.sin(2 * np.pi * f * t) for f in (110.0, 220.0 * 1.26, 440.0 * 1.5))
        audio = (0.2 * tone + 0.05 * rng.standard_normal((batch, 1, samples))).astype(np.float32)
        expected = EncodeGraph(encodec)(torch.from_numpy(audio)).numpy()
        got = session.run([OUTPUT], {INPUT: audio})[0]
        frames = -(-samples // hop)
        label = f"[{batch}, 1, {samples}]"
        if expected.shape != (1, batch, k, frames):
            sys.exit(f"check failed: PyTorch's encode gives {list(expected.shape)} for {label}, expected {[1, batch, k, frames]}")
        if got.shape != expected.shape:
            sys.exit(f"check failed: the graph gives {list(got.shape)} for {label}, PyTorch {list(expected.shape)}")
        if got.dtype != np.int64:
            sys.exit(f"check failed: {OUTPUT} is {got.dtype}, expected int64")
        differ = float((got != expected).mean())
        figures[label] = differ
        print(f"  codes differing from PyTorch's for {label:22s} {100 * differ:.3f} %  ({frames} frames)")
        if differ > MAX_DIFFERENT:
            sys.exit(f"check failed: {100 * differ:.2f} % of the codes for {label} differ from PyTorch's")
    return figures


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="MusicGen or EnCodec checkpoint: hub id or folder")
    ap.add_argument("--out", required=True, help="model folder: writes OUT/onnx/encodec_encode.onnx")
    ap.add_argument("--no-check", action="store_true", help="skip the check against PyTorch")
    args = ap.parse_args(argv)
    t0 = time.time()
    encodec = load_encodec(args.model)
    path = os.path.join(args.out, "onnx", "encodec_encode.onnx")
    exporter = export(encodec, path)
    print(f"{path}: {os.path.getsize(path) / 1e6:.1f} MB ({exporter} exporter, opset {OPSET}), hop {hop_of(encodec)}, "
          f"{codebooks_of(encodec)} codebooks, {encodec.config.sampling_rate} Hz, {time.time() - t0:.0f} s", flush=True)
    if not args.no_check:
        check(encodec, path)
        print("check passed: the graph's codes are PyTorch's")


if __name__ == "__main__":
    main()
