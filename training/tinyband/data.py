"""Training windows from `smitin dataset` output (see the README's dataset format)."""
from __future__ import annotations

import json
import os
import random
import subprocess
from dataclasses import dataclass
from typing import List

import numpy as np

from .text import ENERGIES, INSTRUMENTS, MOODS, STYLES

FRAMES_PER_BAR = 16


@dataclass
class Dataset:
    header: dict
    tokens: np.ndarray  # [pieces, frames, 4] uint16
    labels: np.ndarray  # [pieces, frames, 4] uint8


def make_dataset(repo: str, out: str, pieces: int, seed: int, bars: int, short_sections: float = 0.0) -> None:
    """Runs the TypeScript composer (one definition of the music for runtime and training)."""
    if os.path.exists(os.path.join(out, "dataset.json")):
        h = json.load(open(os.path.join(out, "dataset.json")))
        if (h["pieces"], h["seed"], h["bars"], h.get("shortSections", 0)) == (pieces, seed, bars, short_sections):
            return
    cmd = ["node", os.path.join(repo, "bin", "smitin.js"), "dataset", "--pieces", str(pieces), "--seed", str(seed),
           "--bars", str(bars), "--short-sections", str(short_sections), "--out", out]
    subprocess.run(cmd, check=True)


def load(path: str) -> Dataset:
    header = json.load(open(os.path.join(path, "dataset.json")))
    arrays = {n: np.fromfile(os.path.join(path, s["file"]), dtype=s["dtype"]).reshape(s["shape"])
              for n, s in header["arrays"].items()}
    return Dataset(header, arrays["tokens"], arrays["labels"])


def prompt_for(item: dict, labels: np.ndarray, rng: random.Random, instrument_words: float) -> str:
    """Tags in random order, each sometimes left out; the names of who plays, some of the time."""
    words = [w for w in item["tags"] if rng.random() > 0.15]
    if rng.random() < instrument_words:
        playing = labels.mean(axis=0) > 0.5
        words += [name for name, on in zip(INSTRUMENTS, playing) if on]
    rng.shuffle(words)
    return " ".join(words)


class Windows:
    """Bar-aligned windows of `frames` frames, so generation starts on a downbeat."""

    def __init__(self, data: Dataset, frames: int, seed: int, instrument_words: float = 0.3):
        self.data, self.frames, self.rng = data, frames, random.Random(seed)
        self.instrument_words = instrument_words
        total = data.tokens.shape[1]
        if total < frames:
            raise ValueError(f"pieces have {total} frames, fewer than the {frames}-frame window")
        self.starts = list(range(0, total - frames + 1, FRAMES_PER_BAR))

    def sample(self, batch: int):
        tokens, prompts = [], []
        for _ in range(batch):
            p = self.rng.randrange(self.data.tokens.shape[0])
            s = self.rng.choice(self.starts)
            window = self.data.tokens[p, s : s + self.frames]
            tokens.append(window.T.astype(np.int64))  # [4, frames]
            prompts.append(prompt_for(self.data.header["items"][p], self.data.labels[p, s : s + self.frames], self.rng,
                                      self.instrument_words))
        return np.stack(tokens), prompts
