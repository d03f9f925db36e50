#!/usr/bin/env python3
"""A reference figure for "can a GPU play MusicGen live?": ms per decoder step of MusicGen-small's and
-medium's decoder shapes in PyTorch on CUDA (random weights: the time does not depend on them), with
classifier-free guidance (batch 2) and a KV cache at the positions live uses, with and without a
SMITIN-style push (a vector added to each layer's out_proj input, as smitin's prepared decoder does).

This is PyTorch's time, not onnxruntime-node's: onnxruntime-node's npm package has no CUDA execution
provider without its CUDA install, so it bounds what an ONNX runtime on the same GPU can reach only
roughly. One frame lasts 20 ms (50 frames/s), and live needs one step per frame.

    python3 training/cuda_decoder_step.py [--steps 50] [--past 255] [--shapes small,medium]
"""
from __future__ import annotations

import argparse
import json
import time

import torch

SHAPES = {
    "small": dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, ffn_dim=4096),
    "medium": dict(hidden_size=1536, num_hidden_layers=48, num_attention_heads=24, ffn_dim=6144),
}
FRAME_MS = 20.0
TEXT_POSITIONS = 12
WARMUP = 30


def decoder(shape: str, dtype):
    from transformers import MusicgenDecoderConfig, MusicgenForCausalLM

    cfg = MusicgenDecoderConfig(vocab_size=2048, num_codebooks=4, max_position_embeddings=2048, **SHAPES[shape])
    with torch.device("cuda"):
        model = MusicgenForCausalLM(cfg).to(dtype).eval()
    return model, cfg


def push_hooks(model, cfg, dtype):
    """Adds a fixed vector to every layer's out_proj input at the newest position (SMITIN's intervention)."""
    handles = []
    for layer in model.model.decoder.layers:
        v = torch.randn(cfg.hidden_size, device="cuda", dtype=dtype) * 0.01

        def pre(_module, args, v=v):
            x = args[0]
            x[:, -1:, :] += v
            return (x,)

        handles.append(layer.self_attn.out_proj.register_forward_pre_hook(pre))
    return handles


@torch.no_grad()
def time_steps(model, cfg, dtype, past: int, steps: int) -> float:
    b, k = 2, cfg.num_codebooks
    enc = torch.randn(b, TEXT_POSITIONS, cfg.hidden_size, device="cuda", dtype=dtype)
    ids = torch.randint(0, 2048, (b * k, past), device="cuda")
    out = model(input_ids=ids, encoder_hidden_states=enc, use_cache=True)
    cache = out.past_key_values
    step_ids = torch.randint(0, 2048, (b * k, 1), device="cuda")
    times = []
    for i in range(steps + WARMUP):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        out = model(input_ids=step_ids, encoder_hidden_states=enc, past_key_values=cache, use_cache=True)
        out.logits[:, -1].float().argmax(-1)
        torch.cuda.synchronize()
        if i >= WARMUP:
            times.append(1000 * (time.perf_counter() - t0))
        cache = out.past_key_values
    times.sort()
    return times[len(times) // 2]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--past", type=int, default=255)
    ap.add_argument("--shapes", default="small,medium")
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()
    print(f"{torch.cuda.get_device_name()}, torch {torch.__version__}; guidance batch 2, past {args.past}, p50 of {args.steps} steps")
    rows = []
    for shape in args.shapes.split(","):
        for dtype in (torch.float16, torch.float32):
            model, cfg = decoder(shape, dtype)
            # plain, pushed, plain again: the GPU's clocks and caches settle over the first runs
            first = time_steps(model, cfg, dtype, args.past, args.steps)
            handles = push_hooks(model, cfg, dtype)
            pushed = time_steps(model, cfg, dtype, args.past, args.steps)
            for h in handles:
                h.remove()
            plain = time_steps(model, cfg, dtype, args.past, args.steps)
            print(f"  ({shape} {dtype}: first plain run {first:.2f} ms, after {plain:.2f} ms)")
            row = dict(shape=shape, dtype=str(dtype).split(".")[-1], ms=plain, ms_smitin=pushed,
                       realtime=FRAME_MS / plain, realtime_smitin=FRAME_MS / pushed)
            rows.append(row)
            print(f"  {shape:6s} {row['dtype']:8s} {plain:6.2f} ms/step (x{row['realtime']:.1f} real time), "
                  f"with the push {pushed:6.2f} ms (x{row['realtime_smitin']:.1f}, {100 * (pushed / plain - 1):+.0f} %)", flush=True)
            del model
            torch.cuda.empty_cache()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
