"""The word vocabulary of tinyband's text conditioning and its tokenizer.json.

Words: the composer's style, mood and energy tags (src/model/tinyband/styles.ts)
and the instrument names, which training adds to some prompts only, so that
"text prompting" is a baseline SMITIN can be compared with. Special tokens
follow T5: <pad> 0, </s> 1, <unk> 2; a prompt is its words then </s>.
"""
from __future__ import annotations

import json
import re
from typing import List, Sequence, Tuple

SPECIAL = ["<pad>", "</s>", "<unk>"]
STYLES = ["rock", "funk", "house", "ballad", "bossa"]
MOODS = ["happy", "bright", "sad", "dark"]
ENERGIES = ["calm", "steady", "energetic"]
INSTRUMENTS = ["drums", "bass", "piano", "guitar"]
WORDS = STYLES + MOODS + ENERGIES + INSTRUMENTS
VOCAB = {w: i for i, w in enumerate(SPECIAL + WORDS)}
PAD_ID, EOS_ID, UNK_ID = 0, 1, 2
MAX_TEXT_TOKENS = 12


def encode(text: str) -> List[int]:
    """Same result as the tokenizer.json below: lowercase, split on non-letters, words then </s>."""
    words = [w for w in re.split(r"[^a-z]+", text.lower()) if w]
    return [VOCAB.get(w, UNK_ID) for w in words][: MAX_TEXT_TOKENS - 1] + [EOS_ID]


def batch(texts: Sequence[str]) -> Tuple[List[List[int]], List[List[int]]]:
    ids = [encode(t) for t in texts]
    width = max(len(x) for x in ids)
    return [x + [PAD_ID] * (width - len(x)) for x in ids], [[1] * len(x) + [0] * (width - len(x)) for x in ids]


def t5_post_processor(eos_id: int) -> dict:
    """T5's template: the words, then </s> (also between and after a pair)."""
    eos = {"SpecialToken": {"id": "</s>", "type_id": 0}}
    return {
        "type": "TemplateProcessing",
        "single": [{"Sequence": {"id": "A", "type_id": 0}}, eos],
        "pair": [{"Sequence": {"id": "A", "type_id": 0}}, eos, {"Sequence": {"id": "B", "type_id": 0}}, eos],
        "special_tokens": {"</s>": {"id": "</s>", "ids": [eos_id], "tokens": ["</s>"]}},
    }


def tokenizer_json() -> dict:
    """A Hugging Face tokenizers file: WordLevel model, T5-style </s> post-processor."""
    return {
        "version": "1.0",
        # the same cut as encode(): MAX_TEXT_TOKENS including the closing </s>
        "truncation": {"direction": "Right", "max_length": MAX_TEXT_TOKENS, "strategy": "LongestFirst", "stride": 0},
        "padding": None,
        "added_tokens": [
            {"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}
            for i, t in enumerate(SPECIAL)
        ],
        "normalizer": {"type": "Lowercase"},
        "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "[^a-z]+"}, "behavior": "Removed", "invert": False},
        "post_processor": t5_post_processor(EOS_ID),
        "decoder": None,
        "model": {"type": "WordLevel", "vocab": VOCAB, "unk_token": "<unk>"},
    }


def write_tokenizer(path: str) -> None:
    with open(path, "w") as f:
        json.dump(tokenizer_json(), f, indent=1)
