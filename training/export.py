#!/usr/bin/env python3
"""Export a tinyband checkpoint with the ONNX contract of real MusicGen exports
(optimum's `text-conditional-with-past` variant, as transformers.js loads it),
then check every graph against PyTorch in onnxruntime-node.

    /usr/bin/python3 training/export.py --checkpoint training/runs/tinyband/model.pt --out models/tinyband

Writes OUT/onnx/text_encoder.onnx, OUT/onnx/decoder_model_merged.onnx, OUT/config.json,
OUT/generation_config.json, OUT/tokenizer.json, and the vitest fixture (test/fixtures/tinyband-onnx
when OUT is models/tinyband, else OUT/fixture; --fixture overrides). Fails when ONNX and PyTorch differ.
"""
from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import types
import warnings

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sample import load  # noqa: E402
from tinyband import text as tb_text  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OPSET = 14  # optimum's MusicgenOnnxConfig.DEFAULT_ONNX_OPSET
TOLERANCE = 1e-4
PROMPT_STEPS = 10  # keeps the fixture under 100 kB

# Dynamic axis names as optimum's MusicgenOnnxConfig gives them.
ROWS, BATCH, TOTAL_BATCH = "total_batch_size_x_num_codebooks", "batch_size", "total_batch_size"
DEC_LEN, ENC_LEN, ENC_LEN_OUT = "decoder_sequence_length", "encoder_sequence_length", "encoder_sequence_length_out"
PAST_LEN, PRESENT_LEN = "past_decoder_sequence_length", "past_decoder_sequence_length + 1"


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--out", required=True, help="model folder (models/tinyband for the shipped model)")
    p.add_argument("--fixture", help="folder for the vitest fixture")
    p.add_argument("--top-k", type=int, default=16)
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--guidance", type=float, default=1.5,
                   help="generation_config guidance_scale (1.5: the shipped tinyband, see its model card)")
    p.add_argument("--max-positions", type=int, default=512,
                   help="rows of the sinusoidal position table to keep (>= max_length); the rest is 1.2 MB of unused weights")
    return p.parse_args()


def kv_names(prefix: str, layers: int, parts=("decoder", "encoder")):
    return [f"{prefix}.{i}.{part}.{kv}" for i in range(layers) for part in parts for kv in ("key", "value")]


# ----------------------------------------------------------------------------- torch -> ONNX


@contextlib.contextmanager
def exported_forward(model, forward):
    """Sets the root module's forward to the graph being traced (no-past or with-past inputs)."""
    model.forward = types.MethodType(forward, model)
    try:
        yield
    finally:
        del model.forward  # back to the class's forward


def no_past_forward(self, input_ids, encoder_hidden_states, encoder_attention_mask):
    logits, presents = type(self).forward(self, input_ids, encoder_hidden_states, encoder_attention_mask)
    return (logits, *[t for p in presents for t in p])


def with_past_forward(self, input_ids, encoder_hidden_states, encoder_attention_mask, *past):
    layers = [past[i : i + 4] for i in range(0, len(past), 4)]
    logits, presents = type(self).forward(self, input_ids, encoder_hidden_states, encoder_attention_mask, layers)
    # optimum's decoder_with_past outputs no encoder presents (they never change); merge() adds empty ones
    return (logits, *[t for p in presents for t in p[:2]])


def export_text_encoder(model, path: str, example=None):
    """example: (input_ids, attention_mask) lists to trace with; tinyband's by default."""
    ids, mask = (torch.tensor(x) for x in (example or tb_text.batch(["rock happy", "funk dark energetic drums"])))
    axes = {0: BATCH, 1: ENC_LEN}
    torch.onnx.export(
        model.text_encoder, (ids, mask), path, opset_version=OPSET,
        input_names=["input_ids", "attention_mask"], output_names=["last_hidden_state"],
        dynamic_axes={"input_ids": axes, "attention_mask": axes, "last_hidden_state": axes},
    )


def export_decoder(model, path: str, with_past: bool):
    c = model.config.decoder
    layers, heads, head_dim = c.num_hidden_layers, c.num_attention_heads, c.hidden_size // c.num_attention_heads
    ids = torch.full((2 * c.num_codebooks, 3), c.pad_token_id, dtype=torch.long)
    states = torch.randn(2, 5, model.config.text_encoder.d_model)
    mask = torch.ones(2, 5, dtype=torch.long)
    args, axes = (ids, states, mask), {
        "input_ids": {0: ROWS, 1: DEC_LEN},
        "encoder_hidden_states": {0: TOTAL_BATCH, 1: ENC_LEN},
        "encoder_attention_mask": {0: BATCH, 1: ENC_LEN},
        "logits": {0: ROWS, 1: DEC_LEN},
    }
    inputs = ["input_ids", "encoder_hidden_states", "encoder_attention_mask"]
    outputs = ["logits"] + kv_names("present", layers, ("decoder",) if with_past else ("decoder", "encoder"))
    for name in outputs[1:]:
        axes[name] = {0: TOTAL_BATCH, 2: ENC_LEN_OUT if ".encoder." in name else PRESENT_LEN}
    if with_past:
        past = [torch.randn(2, heads, 7 if ".decoder." in n else 5, head_dim) for n in kv_names("past_key_values", layers)]
        args += tuple(past)
        inputs += kv_names("past_key_values", layers)
        for name in inputs[3:]:
            axes[name] = {0: TOTAL_BATCH, 2: ENC_LEN_OUT if ".encoder." in name else PAST_LEN}
    with exported_forward(model, with_past_forward if with_past else no_past_forward):
        torch.onnx.export(model, args, path, opset_version=OPSET, input_names=inputs, output_names=outputs,
                          dynamic_axes=axes)


# ----------------------------------------------------------------------------- merge (optimum's merge_decoders)


def is_hoisted(t: TensorProto) -> bool:
    """optimum leaves scalars and 1-D int tensors in the branches: ORT mis-optimizes merged graphs otherwise."""
    return not (len(t.dims) == 0 or (len(t.dims) == 1 and t.data_type in (TensorProto.INT32, TensorProto.INT64)))


def content_key(t: TensorProto):
    return t.data_type, tuple(t.dims), hashlib.sha256(numpy_helper.to_array(t).tobytes()).hexdigest()


def hoist_initializers(models):
    """Deduplicates the branches' weights by content into outer initializers, renaming only on clashes."""
    bound = []  # per model: name -> content key for weights, "other" for any other name
    for m in models:
        names = {n: "other" for node in m.graph.node for n in (*node.input, *node.output)}
        names.update({t.name: "other" for t in m.graph.initializer})
        names.update({v.name: "other" for v in (*m.graph.input, *m.graph.output)})
        names.update({t.name: content_key(t) for t in m.graph.initializer if is_hoisted(t)})
        bound.append(names)
    hoisted, chosen = {}, set()
    for m, names in zip(models, bound):
        renames = {}
        for t in [t for t in m.graph.initializer if is_hoisted(t)]:
            key = names[t.name]
            if key not in hoisted:
                name, n = t.name, 0
                while name in chosen or any(b.get(name, key) != key for b in bound):
                    n += 1
                    name = f"{t.name}_{n}"
                chosen.add(name)
                hoisted[key] = helper.make_tensor(name, t.data_type, t.dims, numpy_helper.to_array(t).tobytes(), raw=True)
            renames[t.name] = hoisted[key].name
        for node in m.graph.node:
            assert not any(a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS) for a in node.attribute)
            node.input[:] = [renames.get(x, x) for x in node.input]
        kept = [t for t in m.graph.initializer if not is_hoisted(t)]
        del m.graph.initializer[:]
        m.graph.initializer.extend(kept)
    return list(hoisted.values())


def merge(no_past: onnx.ModelProto, with_past: onnx.ModelProto, d) -> onnx.ModelProto:
    """One graph with an If on use_cache_branch: then = with past, else = no past, as optimum's merge_decoders.

    Like optimum (strict=False), the with-past branch's present.*.encoder.* are empty constants of shape
    [0, heads, 1, head_dim]: callers keep the encoder KV of the first step (transformers.js getPastKeyValues).
    """
    heads, head_dim = d.num_attention_heads, d.hidden_size // d.num_attention_heads
    produced = {o.name for o in with_past.graph.output}
    for out in no_past.graph.output:
        if out.name not in produced:
            empty = helper.make_tensor("empty", TensorProto.FLOAT, [0, heads, 1, head_dim], [])
            constant = helper.make_node("Constant", [], [out.name], name=f"/{out.name}/Constant", value=empty)
            with_past.graph.node.append(constant)
    initializers = hoist_initializers([no_past, with_past])
    # both branches declare no-past's outputs, in its order, with the static sizes torch could not infer
    outputs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [ROWS, DEC_LEN, d.vocab_size])]
    for o in no_past.graph.output[1:]:
        length = ENC_LEN_OUT if ".encoder." in o.name else PRESENT_LEN
        outputs.append(helper.make_tensor_value_info(o.name, TensorProto.FLOAT, [TOTAL_BATCH, heads, length, head_dim]))
    assert [o.name for o in outputs] == [o.name for o in no_past.graph.output]

    def branch(m, name):
        return helper.make_graph(list(m.graph.node), name, [], outputs, list(m.graph.initializer))

    inputs = list(no_past.graph.input)
    inputs += [i for i in with_past.graph.input if i.name not in {x.name for x in inputs}]
    inputs.append(helper.make_tensor_value_info("use_cache_branch", TensorProto.BOOL, [1]))
    node = helper.make_node("If", ["use_cache_branch"], [o.name for o in outputs], name="optimum::if",
                            then_branch=branch(with_past, "with_past"), else_branch=branch(no_past, "no_past"))
    graph = helper.make_graph([node], "merged", inputs, outputs, initializers)
    merged = helper.make_model(graph, opset_imports=list(no_past.opset_import), producer_name="smitin-live tinyband export")
    merged.ir_version = no_past.ir_version
    onnx.checker.check_model(merged)
    return merged


# ----------------------------------------------------------------------------- configs


def write_configs(model, out: str, args, window: int):
    t, d = model.config.text_encoder, model.config.decoder
    config = {
        "architectures": ["MusicgenForConditionalGeneration"],
        "model_type": "musicgen",
        "is_encoder_decoder": True,
        "decoder": {
            "model_type": "musicgen_decoder", "vocab_size": d.vocab_size, "num_codebooks": d.num_codebooks,
            "hidden_size": d.hidden_size, "num_hidden_layers": d.num_hidden_layers,
            "num_attention_heads": d.num_attention_heads, "ffn_dim": d.ffn_dim,
            "max_position_embeddings": d.max_position_embeddings, "pad_token_id": d.pad_token_id,
            "bos_token_id": d.bos_token_id, "audio_channels": 1, "activation_function": "gelu",
            "dropout": d.dropout, "attention_dropout": 0.0, "activation_dropout": 0.0, "layerdrop": 0.0,
            "scale_embedding": False, "tie_word_embeddings": False, "use_cache": True,
            "cross_attention_hidden_size": None, "initializer_factor": 0.02,
        },
        "text_encoder": {
            "model_type": "t5", "architectures": ["T5EncoderModel"], "vocab_size": t.vocab_size,
            "d_model": t.d_model, "d_kv": t.d_kv, "d_ff": t.d_ff, "num_layers": t.num_layers, "num_heads": t.num_heads,
            "relative_attention_num_buckets": t.relative_attention_num_buckets,
            "relative_attention_max_distance": t.relative_attention_max_distance,
            "layer_norm_epsilon": t.layer_norm_epsilon, "dropout_rate": t.dropout_rate,
            "feed_forward_proj": "relu", "dense_act_fn": "relu", "is_gated_act": False,
            "pad_token_id": t.pad_token_id, "eos_token_id": t.eos_token_id,
        },
        # not EnCodec: tokens are rendered by src/model/codec/synth; frame_rate is at 120 BPM (16th notes)
        "audio_encoder": {
            "model_type": "tinyband_synth", "sampling_rate": 48000, "frame_rate": 8, "audio_channels": 2,
            "codebook_size": d.vocab_size,
        },
        "tinyband": {
            "codec": "tinyband-synth", "frames_per_beat": 4, "reference_bpm": 120, "context_frames": window,
            "codebooks": ["drums", "bass", "harmony", "melody"],
        },
    }
    generation = {
        "bos_token_id": d.bos_token_id, "decoder_start_token_id": d.pad_token_id, "pad_token_id": d.pad_token_id,
        "do_sample": True, "guidance_scale": args.guidance, "top_k": args.top_k, "temperature": args.temperature,
        "max_length": window + d.num_codebooks,  # BOS + the context window + the delay pattern's tail
    }
    for name, obj in (("config.json", config), ("generation_config.json", generation)):
        with open(os.path.join(out, name), "w") as f:
            json.dump(obj, f, indent=2)
            f.write("\n")
    tb_text.write_tokenizer(os.path.join(out, "tokenizer.json"))


# ----------------------------------------------------------------------------- check against PyTorch


def run_onnx(jobs, tmp: str):
    """Runs training/run_onnx.mjs on [(model path, {name: array})]; returns [{name: array}]."""
    spec = []
    for j, (path, feeds) in enumerate(jobs):
        entry = {"model": path, "feeds": {}, "out": os.path.join(tmp, f"out{j}")}
        for name, a in feeds.items():
            file = os.path.join(tmp, f"in{j}-{name}.bin")
            a.tofile(file)
            entry["feeds"][name] = {"type": {"int64": "int64", "float32": "float32", "float16": "float16", "bool": "bool"}[str(a.dtype)],
                                    "dims": list(a.shape), "file": file}
        spec.append(entry)
    with open(os.path.join(tmp, "jobs.json"), "w") as f:
        json.dump(spec, f)
    script = os.path.join(REPO, "training", "run_onnx.mjs")
    subprocess.run(["node", script, os.path.join(tmp, "jobs.json")], check=True, cwd=REPO)
    results = []
    for entry in spec:
        index = json.load(open(os.path.join(entry["out"], "outputs.json")))
        results.append({n: np.fromfile(os.path.join(entry["out"], o["file"]), dtype=np.float32).reshape(o["dims"])
                        for n, o in index.items()})
    return results


def prompt_ids(d, steps: int, rng: np.random.Generator) -> np.ndarray:
    """A delayed-pattern prompt [2*K, steps]: BOS, then codebook k starts k steps late; CFG rows repeat it."""
    ids = rng.integers(0, d.vocab_size, size=(d.num_codebooks, steps))
    for k in range(d.num_codebooks):
        ids[k, : k + 1] = d.pad_token_id
    return np.concatenate([ids, ids]).astype(np.int64)


def b64(a: np.ndarray) -> dict:
    return {"dims": list(a.shape), "float32_base64": base64.b64encode(a.astype("<f4").tobytes()).decode()}


@torch.no_grad()
def check(model, onnx_dir: str, fixture_dir: str):
    d = model.config.decoder
    layers, heads, head_dim = d.num_hidden_layers, d.num_attention_heads, d.hidden_size // d.num_attention_heads
    rng = np.random.default_rng(0)
    text_ids, text_mask = (np.array(x, dtype=np.int64) for x in tb_text.batch(["funk happy energetic", "ballad sad"]))
    # CFG: the prompt, then the unconditional row (zero states, zero mask), as transformers' generate builds it
    states = model.encode_text(torch.from_numpy(text_ids), torch.from_numpy(text_mask))
    enc_states = torch.cat([states[:1], torch.zeros_like(states[:1])])
    enc_mask = torch.from_numpy(np.stack([text_mask[0], np.zeros_like(text_mask[0])]))
    ids = torch.from_numpy(prompt_ids(d, PROMPT_STEPS, rng))
    logits, presents = model(ids, enc_states, enc_mask)
    step = torch.from_numpy(np.concatenate([rng.integers(0, d.vocab_size, size=(d.num_codebooks, 1))] * 2).astype(np.int64))
    step_logits, step_presents = model(step, enc_states, enc_mask, presents)

    flat = [t.numpy() for p in presents for t in p]
    empty = np.zeros((2, heads, 0, head_dim), dtype=np.float32)  # first step: length-0 past, as transformers.js
    common = {"encoder_hidden_states": enc_states.numpy(), "encoder_attention_mask": enc_mask.numpy()}
    decoder = os.path.join(onnx_dir, "decoder_model_merged.onnx")
    with tempfile.TemporaryDirectory() as tmp:
        text_out, first, second = run_onnx([
            (os.path.join(onnx_dir, "text_encoder.onnx"), {"input_ids": text_ids, "attention_mask": text_mask}),
            (decoder, {"input_ids": ids.numpy(), **common, **{n: empty for n in kv_names("past_key_values", layers)},
                       "use_cache_branch": np.array([False])}),
            (decoder, {"input_ids": step.numpy(), **common, **dict(zip(kv_names("past_key_values", layers), flat)),
                       "use_cache_branch": np.array([True])}),
        ], tmp)

    def diff(a, b):
        assert a.shape == tuple(b.shape), f"shape {a.shape} != {tuple(b.shape)}"
        return float(np.abs(a - b.numpy()).max()) if a.size else 0.0

    present_names = kv_names("present", layers)
    torch_presents = [t for p in presents for t in p]
    torch_step_presents = [t for p in step_presents for t in p]
    figures = {
        "text_encoder last_hidden_state": diff(text_out["last_hidden_state"], states),
        f"no-past logits ({PROMPT_STEPS} steps)": diff(first["logits"], logits),
        "no-past present.*": max(diff(first[n], t) for n, t in zip(present_names, torch_presents)),
        "with-past logits (1 step)": diff(second["logits"], step_logits),
        "with-past present.*.decoder": max(diff(second[n], t) for n, t in zip(present_names, torch_step_presents)
                                           if ".decoder." in n),
    }
    for name, value in figures.items():
        print(f"  max |onnx - torch| {name:32s} {value:.2e}")
    bad_enc = [n for n in present_names if ".encoder." in n and second[n].shape != (0, heads, 1, head_dim)]
    if bad_enc or max(figures.values()) > TOLERANCE:
        sys.exit(f"export check failed: differences above {TOLERANCE} or unexpected encoder presents {bad_enc}")

    os.makedirs(fixture_dir, exist_ok=True)
    sha = {f: hashlib.sha256(open(os.path.join(onnx_dir, f), "rb").read()).hexdigest()
           for f in ("text_encoder.onnx", "decoder_model_merged.onnx")}
    fixture = {
        "about": "PyTorch outputs for the ONNX files of these sha256; written by training/export.py",
        "sha256": sha,
        "shapes": {"layers": layers, "heads": heads, "head_dim": head_dim, "num_codebooks": d.num_codebooks,
                   "vocab_size": d.vocab_size, "text_d_model": model.config.text_encoder.d_model},
        "tolerance": TOLERANCE,
        "text": {"input_ids": text_ids.tolist(), "attention_mask": text_mask.tolist(),
                 "last_hidden_state": b64(states.numpy())},
        "prompt": {"input_ids": ids.tolist(), "encoder_hidden_states": b64(enc_states.numpy()),
                   "encoder_attention_mask": enc_mask.tolist(), "logits": b64(logits.numpy())},
        "step": {"input_ids": step.tolist(), "logits": b64(step_logits.numpy())},
    }
    path = os.path.join(fixture_dir, "fixture.json")
    with open(path, "w") as f:
        json.dump(fixture, f)
    print(f"wrote {path} ({os.path.getsize(path) // 1024} KiB)")


def main():
    args = parse_args()
    # model.py's traced constants (torch.tensor in where) and torch 1.13's prim::Constant shape note: both harmless
    warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
    warnings.filterwarnings("ignore", message="The shape inference of prim::Constant")
    torch.set_num_threads(1)  # small graphs; leaves the machine to training
    torch.manual_seed(0)
    model = load(args.checkpoint)
    positions = model.decoder.model.decoder.embed_positions
    if args.max_positions < positions.weights.shape[0]:
        # the table is a fixed sinusoid: its first rows are the same whatever its length
        positions.weights = torch.nn.Parameter(positions.weights[: args.max_positions].clone(), requires_grad=False)
        model.config.decoder.max_position_embeddings = args.max_positions
    c = model.config.decoder
    out = os.path.abspath(args.out)
    fixture = args.fixture or (os.path.join(REPO, "test", "fixtures", "tinyband-onnx")
                               if out == os.path.join(REPO, "models", "tinyband") else os.path.join(out, "fixture"))
    onnx_dir = os.path.join(out, "onnx")
    os.makedirs(onnx_dir, exist_ok=True)
    training = os.path.join(os.path.dirname(args.checkpoint), "training.json")
    window = json.load(open(training))["args"]["window"] if os.path.exists(training) else 256

    export_text_encoder(model, os.path.join(onnx_dir, "text_encoder.onnx"))
    with tempfile.TemporaryDirectory() as tmp:
        branches = []
        for with_past in (False, True):
            path = os.path.join(tmp, f"decoder_{'with_past' if with_past else 'no_past'}.onnx")
            export_decoder(model, path, with_past)
            branches.append(onnx.load(path))
    merged = merge(*branches, c)
    onnx.save(merged, os.path.join(onnx_dir, "decoder_model_merged.onnx"))
    write_configs(model, out, args, window)
    for f in sorted(os.listdir(onnx_dir)):
        print(f"  {f}: {os.path.getsize(os.path.join(onnx_dir, f)) / 1e6:.2f} MB")
    check(model, onnx_dir, fixture)
    print(f"exported {args.checkpoint} to {out}")


if __name__ == "__main__":
    main()
