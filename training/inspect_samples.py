#!/usr/bin/env python3
"""Look at samples as a person would: render them with the band synthesizer
(`smitin synth --stems`) and draw, per sample, a spectrogram of the mix over
the level of each instrument's stem, beat by beat.

    /usr/bin/python3 training/inspect_samples.py --samples training/runs/samples --items 0 1 2 --out models/tinyband/samples
Needs python3-matplotlib (Debian) besides numpy.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import wave

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INSTRUMENTS = ["drums", "bass", "piano", "guitar"]
COLORS = {"drums": "tab:red", "bass": "tab:blue", "piano": "tab:green", "guitar": "tab:orange"}


def read_wav(path: str) -> tuple[np.ndarray, int]:
    """32-bit float WAV (format 3) as mono float64."""
    with open(path, "rb") as f:
        raw = f.read()
    # node-wav writes a plain 44-byte header; find the data chunk to be safe
    i = raw.find(b"data")
    n = int.from_bytes(raw[i + 4 : i + 8], "little")
    rate = int.from_bytes(raw[24:28], "little")
    x = np.frombuffer(raw[i + 8 : i + 8 + n], dtype="<f4").reshape(-1, 2).astype(np.float64)
    return x.mean(axis=1), rate


def beat_levels(x: np.ndarray, rate: int, tempo: float) -> np.ndarray:
    hop = int(rate * 60 / tempo)
    beats = len(x) // hop
    rms = np.sqrt((x[: beats * hop].reshape(beats, hop) ** 2).mean(axis=1))
    return 20 * np.log10(np.maximum(rms, 1e-5))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", required=True)
    ap.add_argument("--items", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--out", required=True)
    ap.add_argument("--tempo", type=float, default=120)
    ap.add_argument("--wav-dir", default=None, help="where the WAVs go (default: --out)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    wav_dir = args.wav_dir or args.out
    os.makedirs(wav_dir, exist_ok=True)
    items = json.load(open(os.path.join(args.samples, "dataset.json")))["items"]
    for n, item in enumerate(args.items):
        prompt = items[item].get("prompt", " ".join(items[item].get("tags", [])))
        wav = os.path.join(wav_dir, f"sample-{item}.wav")
        subprocess.run(["node", os.path.join(REPO, "bin", "smitin.js"), "synth", "--dataset", args.samples, "--item", str(item),
                        "--tempo", str(args.tempo), "--stems", "--out", wav], check=True)
        mix, rate = read_wav(wav)
        fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(11, 6), sharex=True, gridspec_kw={"height_ratios": [3, 2]})
        ax1.specgram(mix, NFFT=2048, Fs=rate, noverlap=1024, cmap="magma", vmin=-120)
        ax1.set_ylim(0, 12000)
        ax1.set_ylabel("Hz")
        ax1.set_title(f'sample {item}: "{prompt}" ({args.tempo:g} BPM)')
        for inst in INSTRUMENTS:
            stem, _ = read_wav(wav.replace(".wav", f".{inst}.wav"))
            lv = beat_levels(stem, rate, args.tempo)
            ax2.step(np.arange(len(lv)) * 60 / args.tempo, lv, where="post", label=inst, color=COLORS[inst])
        ax2.set_ylim(-80, 0)
        ax2.set_ylabel("stem level, dB per beat")
        ax2.set_xlabel("seconds")
        for bar in np.arange(0, len(mix) / rate, 240 / args.tempo * 4):
            ax2.axvline(bar, color="0.85", lw=0.8, zorder=0)  # every 4 bars
        ax2.legend(loc="lower right", ncol=4, fontsize=8)
        fig.tight_layout()
        png = os.path.join(args.out, f"sample-{item}.png")
        fig.savefig(png, dpi=80)
        plt.close(fig)
        print(f"wrote {png}")


if __name__ == "__main__":
    main()
