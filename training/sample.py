#!/usr/bin/env python3
"""Sample pieces from a tinyband checkpoint in PyTorch (CFG, top-k, temperature, delay pattern, KV cache)
and write them as a dataset folder that `smitin stats` and `smitin synth` read.

    /usr/bin/python3 training/sample.py --checkpoint training/runs/tinyband/model.pt --count 50 --out training/runs/samples
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tinyband import text as tb_text  # noqa: E402
from tinyband.model import DecoderConfig, MusicgenForConditionalGeneration, TextConfig, TinybandConfig  # noqa: E402


def load(path: str) -> MusicgenForConditionalGeneration:
    ckpt = torch.load(path, map_location="cpu")
    c = ckpt["config"]
    model = MusicgenForConditionalGeneration(TinybandConfig(TextConfig(**c["text_encoder"]), DecoderConfig(**c["decoder"])))
    model.load_state_dict(ckpt["state_dict"])
    return model.eval()


@torch.no_grad()
def generate(model, prompts, frames: int, guidance: float, top_k: int, temperature: float, generator: torch.Generator):
    """Returns frames [B, K, frames] sampled with classifier-free guidance (zeroed unconditional half)."""
    c = model.config.decoder
    k, pad = c.num_codebooks, c.pad_token_id
    b = len(prompts)
    ids, mask = tb_text.batch(prompts)
    ids, mask = torch.tensor(ids), torch.tensor(mask)
    states = model.encode_text(ids, mask)
    states = torch.cat([states, torch.zeros_like(states)])  # [cond; uncond]
    mask2 = torch.cat([mask, torch.zeros_like(mask)])
    out = torch.full((b, k, frames), pad, dtype=torch.long)
    step_input = torch.full((2 * b * k, 1), pad, dtype=torch.long)  # BOS
    past = None
    for p in range(frames + k - 1):
        logits, past = model(step_input, states, mask2, past)
        logits = logits[:, -1].view(2, b, k, -1)
        logits = logits[1] + guidance * (logits[0] - logits[1])
        logits = logits / temperature
        kth = torch.topk(logits, top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
        sampled = torch.multinomial(logits.softmax(-1).view(b * k, -1), 1, generator=generator).view(b, k)
        nxt = torch.full((b, k), pad, dtype=torch.long)
        for cb in range(k):
            t = p - cb  # the delay pattern: codebook cb at step p is frame p - cb
            if 0 <= t < frames:
                out[:, cb, t] = sampled[:, cb]
                nxt[:, cb] = sampled[:, cb]
        step_input = torch.cat([nxt, nxt]).reshape(2 * b * k, 1)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--count", type=int, default=50)
    ap.add_argument("--bars", type=int, default=16)
    ap.add_argument("--guidance", type=float, default=3.0)
    ap.add_argument("--top-k", type=int, default=16)
    ap.add_argument("--temperature", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--batch", type=int, default=10)
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    model = load(args.checkpoint)
    frames = args.bars * 16
    prompts = [" ".join([tb_text.STYLES[i % len(tb_text.STYLES)], rng.choice(tb_text.MOODS), rng.choice(tb_text.ENERGIES)])
               for i in range(args.count)]
    pieces = []
    for start in range(0, args.count, args.batch):
        batch = prompts[start : start + args.batch]
        pieces.append(generate(model, batch, frames, args.guidance, args.top_k, args.temperature, gen))
        print(f"sampled {start + len(batch)}/{args.count}", flush=True)
    tokens = torch.cat(pieces).permute(0, 2, 1).numpy().astype("<u2")  # [N, frames, K]
    os.makedirs(args.out, exist_ok=True)
    tokens.tofile(os.path.join(args.out, "tokens.u16"))
    c = model.config.decoder
    header = {
        "format": "smitin-tinyband-dataset", "version": 1,
        "description": f"samples of {args.checkpoint}: guidance {args.guidance}, top-k {args.top_k}, temperature {args.temperature}",
        "seed": args.seed, "pieces": args.count, "bars": args.bars, "frames": frames,
        "arrays": {"tokens": {"file": "tokens.u16", "dtype": "<u2", "shape": list(tokens.shape)}},
        "vocab": {"numCodebooks": c.num_codebooks, "vocabSize": c.vocab_size, "padId": c.pad_token_id},
        "items": [{"prompt": p, "style": p.split()[0], "tags": p.split()} for p in prompts],
    }
    with open(os.path.join(args.out, "dataset.json"), "w") as f:
        json.dump(header, f, indent=1)
    print(f"wrote {args.count} samples of {args.bars} bars to {args.out}")


if __name__ == "__main__":
    main()
