#!/usr/bin/env python3
"""Train tinyband, the small MusicGen that ships in models/tinyband, on the composer's band.

    /usr/bin/python3 training/train.py            # data, training, held-out NLL, checkpoint
    /usr/bin/python3 training/train.py --steps 20 --out /tmp/tb-smoke   # a quick check

Seeded and single-process; Debian's PyTorch on the CPU (see training/README.md).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tinyband import data as tb_data  # noqa: E402
from tinyband import text as tb_text  # noqa: E402
from tinyband.model import (  # noqa: E402
    DecoderConfig,
    MusicgenForConditionalGeneration,
    TextConfig,
    TinybandConfig,
    apply_delay_pattern,
)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=os.path.join(REPO, "training", "runs", "tinyband"), help="checkpoint folder")
    p.add_argument("--data", default=os.path.join(REPO, "training", "runs", "data"), help="dataset folder (made if missing)")
    p.add_argument("--pieces", type=int, default=4000)
    p.add_argument("--val-pieces", type=int, default=200)
    p.add_argument("--bars", type=int, default=32)
    p.add_argument("--short-sections", type=float, default=0.0,
                   help="chance of a 2-bar section in the data (0: the shipped model's data; instruments then also come and go every 2 bars)")
    p.add_argument("--window", type=int, default=256, help="context in frames (16ths)")
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--cond-dropout", type=float, default=0.15, help="share of prompts replaced by the unconditional input")
    p.add_argument("--hidden", type=int, default=192)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--heads", type=int, default=8)
    p.add_argument("--ffn", type=int, default=768)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    return p.parse_args()


def text_batch(prompts, cond_dropout: float, rng: random.Random):
    ids, mask = tb_text.batch(prompts)
    ids, mask = torch.tensor(ids), torch.tensor(mask)
    for i in range(len(prompts)):
        if rng.random() < cond_dropout:
            mask[i] = 0  # the CFG unconditional input: zero mask, hence zero encoder states
    return ids, mask


def loss_per_codebook(model, tokens: np.ndarray, ids, mask, pad_id: int):
    frames = torch.from_numpy(tokens)
    inputs, targets = apply_delay_pattern(frames, pad_id)
    b, k, length = inputs.shape
    logits, _ = model(inputs.reshape(b * k, length), model.encode_text(ids, mask), mask)
    v = logits.shape[-1]
    per = F.cross_entropy(logits.reshape(-1, v), targets.reshape(-1), ignore_index=-100, reduction="none").view(b, k, length)
    valid = (targets != -100).float()
    return (per * valid).sum(dim=(0, 2)) / valid.sum(dim=(0, 2))  # [K] mean nats per token


@torch.no_grad()
def evaluate(model, windows: tb_data.Windows, batches: int, batch: int, pad_id: int):
    model.eval()
    totals = torch.zeros(4)
    rng = random.Random(0)
    for _ in range(batches):
        tokens, prompts = windows.sample(batch)
        ids, mask = text_batch(prompts, 0.0, rng)
        totals += loss_per_codebook(model, tokens, ids, mask, pad_id)
    model.train()
    return (totals / batches).tolist()


def main():
    args = parse_args()
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)

    tb_data.make_dataset(REPO, args.data, args.pieces, args.seed, args.bars, args.short_sections)
    val_dir = args.data + "-val"
    tb_data.make_dataset(REPO, val_dir, args.val_pieces, args.seed + 1000, args.bars, args.short_sections)
    train_set, val_set = tb_data.load(args.data), tb_data.load(val_dir)
    vocab = train_set.header["vocab"]

    config = TinybandConfig(
        text_encoder=TextConfig(vocab_size=len(tb_text.VOCAB)),
        decoder=DecoderConfig(
            vocab_size=vocab["vocabSize"], num_codebooks=vocab["numCodebooks"], hidden_size=args.hidden,
            num_hidden_layers=args.layers, num_attention_heads=args.heads, ffn_dim=args.ffn,
            pad_token_id=vocab["padId"], bos_token_id=vocab["padId"],
        ),
    )
    model = MusicgenForConditionalGeneration(config)
    params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    print(f"tinyband: {params / 1e6:.2f}M parameters, d {args.hidden}, {args.layers} layers x {args.heads} heads, "
          f"window {args.window} frames, {args.steps} steps of {args.batch}", flush=True)

    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.95), weight_decay=0.01)
    schedule = lambda s: min(1.0, (s + 1) / args.warmup) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, s / args.steps))))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule)
    train_windows = tb_data.Windows(train_set, args.window, args.seed)
    val_windows = tb_data.Windows(val_set, args.window, args.seed + 1)
    rng = random.Random(args.seed + 2)
    history = []
    started = time.time()
    ema = None
    for step in range(1, args.steps + 1):
        tokens, prompts = train_windows.sample(args.batch)
        ids, mask = text_batch(prompts, args.cond_dropout, rng)
        loss = loss_per_codebook(model, tokens, ids, mask, vocab["padId"]).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        ema = loss.item() if ema is None else 0.95 * ema + 0.05 * loss.item()
        if step % 25 == 0 or step == args.steps:
            elapsed = time.time() - started
            eta = elapsed / step * (args.steps - step)
            bar = "#" * int(30 * step / args.steps)
            print(f"[{bar:<30}] step {step}/{args.steps} loss {ema:.4f} lr {sched.get_last_lr()[0]:.2e} "
                  f"{elapsed / 60:.1f} min, {eta / 60:.1f} min left", flush=True)
            history.append({"step": step, "loss": ema, "minutes": elapsed / 60})
    minutes = (time.time() - started) / 60
    val = evaluate(model, val_windows, batches=8, batch=args.batch, pad_id=vocab["padId"])
    print(f"held-out NLL per codebook (nats/token): {', '.join(f'{x:.4f}' for x in val)}; mean {sum(val) / 4:.4f}")
    torch.save({"config": config.to_dict(), "state_dict": model.state_dict()}, os.path.join(args.out, "model.pt"))
    with open(os.path.join(args.out, "training.json"), "w") as f:
        json.dump({"args": vars(args), "parameters": params, "minutes": minutes, "heldout_nll": val,
                   "heldout_nll_mean": sum(val) / 4, "history": history}, f, indent=1)
    print(f"saved {args.out}/model.pt after {minutes:.1f} min")


if __name__ == "__main__":
    main()
