"""tinyband: a small MusicGen, module for module.

Module and parameter names follow transformers' MusicgenForConditionalGeneration
(text_encoder, enc_to_dec_proj, decoder.model.decoder.layers.{i}.self_attn.out_proj,
decoder.lm_heads.{k}, ...), so that exported ONNX graphs carry the same node
names as real MusicGen exports and the runtime's graph surgery finds the same
places. The text encoder is a small T5 encoder (RMS norm, relative position
buckets, ReLU feed-forward) over a word vocabulary.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

NEG_INF = -1e9  # large and finite: an all-masked row (CFG's unconditional half) must stay NaN-free


@dataclass
class TextConfig:
    vocab_size: int = 64
    d_model: int = 64
    d_kv: int = 16
    d_ff: int = 256
    num_layers: int = 2
    num_heads: int = 4
    relative_attention_num_buckets: int = 8
    relative_attention_max_distance: int = 16
    layer_norm_epsilon: float = 1e-6
    dropout_rate: float = 0.1
    pad_token_id: int = 0
    eos_token_id: int = 1


@dataclass
class DecoderConfig:
    vocab_size: int = 170
    num_codebooks: int = 4
    hidden_size: int = 192
    num_hidden_layers: int = 6
    num_attention_heads: int = 8
    ffn_dim: int = 768
    max_position_embeddings: int = 2048
    dropout: float = 0.1
    pad_token_id: int = 170
    bos_token_id: int = 170
    layer_norm_eps: float = 1e-5


@dataclass
class TinybandConfig:
    text_encoder: TextConfig = field(default_factory=TextConfig)
    decoder: DecoderConfig = field(default_factory=DecoderConfig)

    def to_dict(self) -> dict:
        return asdict(self)


# ----------------------------------------------------------------------------- text encoder (T5-style)


class T5LayerNorm(nn.Module):
    def __init__(self, d: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.variance_epsilon = eps

    def forward(self, x):
        variance = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(variance + self.variance_epsilon))


def t5_relative_buckets(relative_position, num_buckets: int, max_distance: int):
    """T5's bidirectional bucketing: half the buckets per direction, log-spaced past num_buckets/4."""
    num_buckets //= 2
    buckets = (relative_position > 0).to(torch.long) * num_buckets
    n = torch.abs(relative_position)
    max_exact = num_buckets // 2
    is_small = n < max_exact
    large = max_exact + (
        torch.log(n.float().clamp(min=1) / max_exact) / math.log(max_distance / max_exact) * (num_buckets - max_exact)
    ).to(torch.long)
    large = torch.min(large, torch.full_like(large, num_buckets - 1))
    return buckets + torch.where(is_small, n, large)


class T5Attention(nn.Module):
    def __init__(self, c: TextConfig, has_relative_attention_bias: bool):
        super().__init__()
        inner = c.num_heads * c.d_kv
        self.n_heads, self.d_kv, self.c = c.num_heads, c.d_kv, c
        self.q = nn.Linear(c.d_model, inner, bias=False)
        self.k = nn.Linear(c.d_model, inner, bias=False)
        self.v = nn.Linear(c.d_model, inner, bias=False)
        self.o = nn.Linear(inner, c.d_model, bias=False)
        self.has_relative_attention_bias = has_relative_attention_bias
        if has_relative_attention_bias:
            self.relative_attention_bias = nn.Embedding(c.relative_attention_num_buckets, c.num_heads)

    def position_bias(self, length: int, device):
        pos = torch.arange(length, device=device)
        rel = pos[None, :] - pos[:, None]
        buckets = t5_relative_buckets(rel, self.c.relative_attention_num_buckets, self.c.relative_attention_max_distance)
        return self.relative_attention_bias(buckets).permute(2, 0, 1).unsqueeze(0)  # [1, H, L, L]

    def forward(self, x, mask_bias, position_bias):
        b, l, _ = x.shape
        shape = lambda t: t.view(b, l, self.n_heads, self.d_kv).transpose(1, 2)
        q, k, v = shape(self.q(x)), shape(self.k(x)), shape(self.v(x))
        scores = q @ k.transpose(-1, -2) + position_bias + mask_bias  # T5 does not scale by 1/sqrt(d)
        attn = F.dropout(scores.softmax(-1), self.c.dropout_rate, self.training)
        return self.o((attn @ v).transpose(1, 2).reshape(b, l, -1))


class T5LayerSelfAttention(nn.Module):
    def __init__(self, c: TextConfig, has_bias: bool):
        super().__init__()
        self.SelfAttention = T5Attention(c, has_bias)
        self.layer_norm = T5LayerNorm(c.d_model, c.layer_norm_epsilon)
        self.dropout = nn.Dropout(c.dropout_rate)

    def forward(self, x, mask_bias, position_bias):
        return x + self.dropout(self.SelfAttention(self.layer_norm(x), mask_bias, position_bias))


class T5DenseActDense(nn.Module):
    def __init__(self, c: TextConfig):
        super().__init__()
        self.wi = nn.Linear(c.d_model, c.d_ff, bias=False)
        self.wo = nn.Linear(c.d_ff, c.d_model, bias=False)
        self.dropout = nn.Dropout(c.dropout_rate)

    def forward(self, x):
        return self.wo(self.dropout(F.relu(self.wi(x))))


class T5LayerFF(nn.Module):
    def __init__(self, c: TextConfig):
        super().__init__()
        self.DenseReluDense = T5DenseActDense(c)
        self.layer_norm = T5LayerNorm(c.d_model, c.layer_norm_epsilon)
        self.dropout = nn.Dropout(c.dropout_rate)

    def forward(self, x):
        return x + self.dropout(self.DenseReluDense(self.layer_norm(x)))


class T5Block(nn.Module):
    def __init__(self, c: TextConfig, has_bias: bool):
        super().__init__()
        self.layer = nn.ModuleList([T5LayerSelfAttention(c, has_bias), T5LayerFF(c)])

    def forward(self, x, mask_bias, position_bias):
        return self.layer[1](self.layer[0](x, mask_bias, position_bias))


class T5Stack(nn.Module):
    def __init__(self, c: TextConfig, embed_tokens: nn.Embedding):
        super().__init__()
        self.embed_tokens = embed_tokens
        self.block = nn.ModuleList([T5Block(c, i == 0) for i in range(c.num_layers)])
        self.final_layer_norm = T5LayerNorm(c.d_model, c.layer_norm_epsilon)
        self.dropout = nn.Dropout(c.dropout_rate)

    def forward(self, input_ids, attention_mask):
        x = self.dropout(self.embed_tokens(input_ids))
        mask_bias = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * NEG_INF
        position_bias = self.block[0].layer[0].SelfAttention.position_bias(input_ids.shape[1], input_ids.device)
        for block in self.block:
            x = block(x, mask_bias, position_bias)
        return self.dropout(self.final_layer_norm(x))


class T5EncoderModel(nn.Module):
    def __init__(self, c: TextConfig):
        super().__init__()
        self.config = c
        self.shared = nn.Embedding(c.vocab_size, c.d_model)
        self.encoder = T5Stack(c, self.shared)

    def forward(self, input_ids, attention_mask):
        return self.encoder(input_ids, attention_mask)


# ----------------------------------------------------------------------------- MusicGen decoder


class MusicgenSinusoidalPositionalEmbedding(nn.Module):
    """cos first, then sin, as transformers' MusicGen (tensor2tensor layout)."""

    def __init__(self, num_positions: int, embedding_dim: int):
        super().__init__()
        half = embedding_dim // 2
        freq = torch.exp(torch.arange(half, dtype=torch.float32) * -(math.log(10000) / (half - 1)))
        angles = torch.arange(num_positions, dtype=torch.float32)[:, None] * freq[None, :]
        self.weights = nn.Parameter(torch.cat([torch.cos(angles), torch.sin(angles)], dim=1), requires_grad=False)

    def forward(self, seq_len: int, past_len):
        positions = torch.arange(seq_len, device=self.weights.device) + past_len
        return self.weights.index_select(0, positions)


class MusicgenAttention(nn.Module):
    def __init__(self, d: int, heads: int, dropout: float):
        super().__init__()
        self.num_heads, self.head_dim, self.dropout = heads, d // heads, dropout
        self.scaling = self.head_dim**-0.5
        self.k_proj = nn.Linear(d, d, bias=False)
        self.v_proj = nn.Linear(d, d, bias=False)
        self.q_proj = nn.Linear(d, d, bias=False)
        self.out_proj = nn.Linear(d, d, bias=False)

    def _shape(self, t, bsz):
        return t.view(bsz, -1, self.num_heads, self.head_dim).transpose(1, 2)

    def forward(self, hidden, key_value_states=None, past=None, mask_bias=None):
        """Self-attention when key_value_states is None; returns (output, (key, value)) for the cache."""
        bsz, tgt_len, d = hidden.shape
        q = self._shape(self.q_proj(hidden) * self.scaling, bsz)
        if key_value_states is not None:
            if past is not None:
                k, v = past  # cross-attention: the encoder's keys and values from the first step
            else:
                k, v = self._shape(self.k_proj(key_value_states), bsz), self._shape(self.v_proj(key_value_states), bsz)
        else:
            k, v = self._shape(self.k_proj(hidden), bsz), self._shape(self.v_proj(hidden), bsz)
            if past is not None:
                k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
        scores = q @ k.transpose(-1, -2)
        if mask_bias is not None:
            scores = scores + mask_bias
        # no dropout on the attention map: on CPU it costs as much as the attention itself
        attn = scores.softmax(-1)
        # heads concatenated in order: the out_proj input is [head 0 | head 1 | ...], which SMITIN slices per head
        out = (attn @ v).transpose(1, 2).reshape(bsz, tgt_len, d)
        return self.out_proj(out), (k, v)


class MusicgenDecoderLayer(nn.Module):
    def __init__(self, c: DecoderConfig):
        super().__init__()
        d = c.hidden_size
        self.dropout = c.dropout
        self.self_attn = MusicgenAttention(d, c.num_attention_heads, c.dropout)
        self.self_attn_layer_norm = nn.LayerNorm(d, eps=c.layer_norm_eps)
        self.encoder_attn = MusicgenAttention(d, c.num_attention_heads, c.dropout)
        self.encoder_attn_layer_norm = nn.LayerNorm(d, eps=c.layer_norm_eps)
        self.fc1 = nn.Linear(d, c.ffn_dim, bias=False)
        self.fc2 = nn.Linear(c.ffn_dim, d, bias=False)
        self.final_layer_norm = nn.LayerNorm(d, eps=c.layer_norm_eps)

    def forward(self, x, causal_bias, encoder_hidden_states, encoder_bias, self_past=None, cross_past=None):
        drop = lambda t: F.dropout(t, self.dropout, self.training)
        h, self_kv = self.self_attn(self.self_attn_layer_norm(x), past=self_past, mask_bias=causal_bias)
        x = x + drop(h)
        h, cross_kv = self.encoder_attn(
            self.encoder_attn_layer_norm(x), key_value_states=encoder_hidden_states, past=cross_past, mask_bias=encoder_bias
        )
        x = x + drop(h)
        x = x + drop(self.fc2(drop(F.gelu(self.fc1(self.final_layer_norm(x))))))
        return x, self_kv, cross_kv


class MusicgenDecoder(nn.Module):
    def __init__(self, c: DecoderConfig):
        super().__init__()
        self.config = c
        self.embed_tokens = nn.ModuleList([nn.Embedding(c.vocab_size + 1, c.hidden_size) for _ in range(c.num_codebooks)])
        self.embed_positions = MusicgenSinusoidalPositionalEmbedding(c.max_position_embeddings, c.hidden_size)
        self.layers = nn.ModuleList([MusicgenDecoderLayer(c) for _ in range(c.num_hidden_layers)])
        self.layer_norm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)

    def forward(self, input_ids, encoder_hidden_states, encoder_attention_mask, past_key_values=None):
        """input_ids [B*K, T] (row = b*K + k). past_key_values: per layer (self_k, self_v, cross_k, cross_v)."""
        k = self.config.num_codebooks
        ids = input_ids.reshape(-1, k, input_ids.shape[-1])
        x = sum(self.embed_tokens[c](ids[:, c]) for c in range(k))
        t = ids.shape[-1]
        past_len = past_key_values[0][0].shape[2] if past_key_values is not None else 0
        x = x + self.embed_positions(t, past_len)[None]
        x = F.dropout(x, self.config.dropout, self.training)
        # causal: query i (absolute past_len + i) sees keys 0..past_len + i
        q_pos = torch.arange(t, device=x.device)[:, None] + past_len
        k_pos = torch.arange(t + past_len, device=x.device)[None, :]
        causal_bias = torch.where(k_pos > q_pos, torch.tensor(NEG_INF), torch.tensor(0.0))[None, None]
        encoder_bias = (1.0 - encoder_attention_mask[:, None, None, :].to(x.dtype)) * NEG_INF
        presents = []
        for i, layer in enumerate(self.layers):
            p = past_key_values[i] if past_key_values is not None else None
            x, self_kv, cross_kv = layer(
                x, causal_bias, encoder_hidden_states, encoder_bias,
                self_past=(p[0], p[1]) if p is not None else None,
                cross_past=(p[2], p[3]) if p is not None else None,
            )
            presents.append((self_kv[0], self_kv[1], cross_kv[0], cross_kv[1]))
        return self.layer_norm(x), presents


class MusicgenModel(nn.Module):
    def __init__(self, c: DecoderConfig):
        super().__init__()
        self.decoder = MusicgenDecoder(c)

    def forward(self, *args):
        return self.decoder(*args)


class MusicgenForCausalLM(nn.Module):
    def __init__(self, c: DecoderConfig):
        super().__init__()
        self.config = c
        self.model = MusicgenModel(c)
        self.lm_heads = nn.ModuleList([nn.Linear(c.hidden_size, c.vocab_size, bias=False) for _ in range(c.num_codebooks)])

    def forward(self, input_ids, encoder_hidden_states, encoder_attention_mask, past_key_values=None):
        # through self.model's __call__, as transformers does: ONNX node names then read /decoder/model/decoder/layers.{i}/...
        hidden, presents = self.model(input_ids, encoder_hidden_states, encoder_attention_mask, past_key_values)
        logits = torch.stack([head(hidden) for head in self.lm_heads], dim=1)  # [B, K, T, V]
        return logits.reshape(-1, logits.shape[2], logits.shape[3]), presents


class MusicgenForConditionalGeneration(nn.Module):
    def __init__(self, config: TinybandConfig):
        super().__init__()
        self.config = config
        self.text_encoder = T5EncoderModel(config.text_encoder)
        self.enc_to_dec_proj = nn.Linear(config.text_encoder.d_model, config.decoder.hidden_size)
        self.decoder = MusicgenForCausalLM(config.decoder)

    def encode_text(self, input_ids, attention_mask):
        return self.text_encoder(input_ids, attention_mask)

    def forward(self, input_ids, encoder_hidden_states, encoder_attention_mask, past_key_values=None):
        """The decoder step as the ONNX export sees it: text-encoder states in, projected and masked here."""
        states = self.enc_to_dec_proj(encoder_hidden_states)
        # as transformers: padded (and CFG-unconditional, all-zero-mask) positions carry zero states
        states = states * encoder_attention_mask[..., None].to(states.dtype)
        return self.decoder(input_ids, states, encoder_attention_mask, past_key_values)


# ----------------------------------------------------------------------------- delay pattern


def apply_delay_pattern(frames: torch.Tensor, pad_id: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """frames [B, K, T] -> (decoder inputs [B, K, T+K], targets [B, K, T+K]).

    Codebook k is delayed by k steps. Input position 0 is BOS (= pad) in every
    codebook; the target at position p of codebook k is frame p - k (pad where
    that is outside the piece, and such targets are ignored: -100).
    """
    b, k, t = frames.shape
    length = t + k
    targets = torch.full((b, k, length), -100, dtype=torch.long)
    for c in range(k):
        targets[:, c, c : c + t] = frames[:, c]
    inputs = torch.full((b, k, length), pad_id, dtype=torch.long)
    shifted = targets[:, :, :-1].clone()
    shifted[shifted == -100] = pad_id
    inputs[:, :, 1:] = shifted
    return inputs, targets
