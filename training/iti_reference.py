#!/usr/bin/env python3
"""PyTorch reference for `smitin prepare`'s ITI inputs: a shift added to one layer's self-attention
out_proj input (the concatenated head outputs) at every position, and the pre-shift out_proj input at the
last position of every layer (heads.{l}). Writes the vitest fixture test/fixtures/tinyband-iti/fixture.json.

    /usr/bin/python3 training/iti_reference.py --checkpoint training/runs/tinyband/model.pt

The checkpoint must be the one models/tinyband was exported from (the fixture records the decoder's sha256).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export import REPO, b64, prompt_ids  # noqa: E402
from sample import load  # noqa: E402
from tinyband import text as tb_text  # noqa: E402

TOLERANCE = 1e-4
PROMPT_STEPS = 6  # keeps the fixture under 100 kB
SHIFT_SCALE = 3.0  # the shift's elements: N(0, 1) times this times the std of the layer's out_proj input


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--model", default=os.path.join(REPO, "models", "tinyband"), help="the exported model folder")
    p.add_argument("--fixture", default=os.path.join(REPO, "test", "fixtures", "tinyband-iti"))
    p.add_argument("--seed", type=int, default=5)
    return p.parse_args()


class Hooks:
    """Forward pre-hooks on every layer's self_attn.out_proj: record the input's last position, then add the shift."""

    def __init__(self, model):
        self.layers = model.decoder.model.decoder.layers
        self.shifts: dict[int, torch.Tensor] = {}  # layer -> [B, H*Dh]
        self.heads: dict[int, torch.Tensor] = {}
        self.inputs: dict[int, torch.Tensor] = {}
        for l, layer in enumerate(self.layers):
            layer.self_attn.out_proj.register_forward_pre_hook(self.hook(l))

    def hook(self, l: int):
        def pre(_module, args):
            (x,) = args  # [B, T, H*Dh]
            self.heads[l] = x[:, -1].clone()
            self.inputs[l] = x.clone()
            if l in self.shifts:
                return (x + self.shifts[l].unsqueeze(1),)
            return None
        return pre


@torch.no_grad()
def main():
    args = parse_args()
    torch.set_num_threads(1)
    model = load(args.checkpoint)
    d = model.config.decoder
    layers = d.num_hidden_layers
    width = d.hidden_size
    hooks = Hooks(model)
    rng = np.random.default_rng(args.seed)

    text_ids, text_mask = (np.array(x, dtype=np.int64) for x in tb_text.batch(["funk happy energetic"]))
    states = model.encode_text(torch.from_numpy(text_ids), torch.from_numpy(text_mask))
    # CFG: the prompt, then the unconditional row (zero states, zero mask)
    enc_states = torch.cat([states, torch.zeros_like(states)])
    enc_mask = torch.from_numpy(np.stack([text_mask[0], np.zeros_like(text_mask[0])]))
    ids = torch.from_numpy(prompt_ids(d, PROMPT_STEPS, rng))
    step = torch.from_numpy(np.concatenate([rng.integers(0, d.vocab_size, size=(d.num_codebooks, 1))] * 2).astype(np.int64))

    def run():
        logits, presents = model(ids, enc_states, enc_mask)
        first = [hooks.heads[l].numpy() for l in range(layers)]
        step_logits, _ = model(step, enc_states, enc_mask, presents)
        second = [hooks.heads[l].numpy() for l in range(layers)]
        return logits.numpy(), step_logits.numpy(), np.stack(first), np.stack(second)

    hooks.shifts = {}
    zero_logits, zero_step, zero_heads, zero_step_heads = run()
    layer = layers // 2
    std = float(hooks.inputs[layer].std())
    shift = (SHIFT_SCALE * std * rng.standard_normal((2, width))).astype(np.float32)
    hooks.shifts = {layer: torch.from_numpy(shift)}
    logits, step_logits, heads, step_heads = run()

    assert np.array_equal(heads[: layer + 1], zero_heads[: layer + 1]), "heads up to the shifted layer must not move"
    moved = {"prompt logits": float(np.abs(logits - zero_logits).max()),
             "step logits": float(np.abs(step_logits - zero_step).max())}
    print(f"  layer {layer}, shift std {shift.std():.3f} (out_proj input std {std:.3f}); "
          + ", ".join(f"max |shifted - unshifted| {k} {v:.3f}" for k, v in moved.items()))
    if min(moved.values()) < 100 * TOLERANCE:
        sys.exit("the shift barely moves the logits: the fixture would not tell a working shift from none")

    decoder = os.path.join(args.model, "onnx", "decoder_model_merged.onnx")
    fixture = {
        "about": "PyTorch reference for smitin prepare's iti.{l} / heads.{l} on models/tinyband (the decoder of this "
                 "sha256); written by training/iti_reference.py. zero_shift logits are the last prompt position and "
                 "the step only.",
        "sha256": {"decoder_model_merged.onnx": hashlib.sha256(open(decoder, "rb").read()).hexdigest()},
        "tolerance": TOLERANCE,
        "layer": layer,
        "shift": b64(shift),
        "encoder_hidden_states": b64(enc_states.numpy()),
        "encoder_attention_mask": enc_mask.tolist(),
        "text": {"input_ids": text_ids.tolist(), "attention_mask": text_mask.tolist()},
        "prompt": {"input_ids": ids.tolist(), "logits": b64(logits), "heads": b64(heads),
                   "zero_shift_last_logits": b64(zero_logits[:, -1:])},
        "step": {"input_ids": step.tolist(), "logits": b64(step_logits), "heads": b64(step_heads),
                 "zero_shift_logits": b64(zero_step)},
    }
    os.makedirs(args.fixture, exist_ok=True)
    path = os.path.join(args.fixture, "fixture.json")
    with open(path, "w") as f:
        json.dump(fixture, f)
    print(f"wrote {path} ({os.path.getsize(path) // 1024} KiB)")


if __name__ == "__main__":
    main()
