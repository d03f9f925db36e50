"""Writes the fp16 variants of an exported MusicGen folder's graphs: onnx/X.onnx -> onnx/X_fp16.onnx.

    /usr/bin/python3 training/to_fp16.py test/fixtures/musicgen-tiny [--graphs text_encoder,decoder_model_merged,encodec_decode] [--compute fp16|fp32] [--check]

--check runs both variants in onnxruntime-node (training/run_onnx.mjs) on the same seeded inputs (the decoder
twice: no past, then one step with the first run's presents) and prints the largest differences.

The files have the contract of transformers.js / optimum fp16 exports: every float32 graph input and output
(encoder_hidden_states, past_key_values.* / present.*, logits, last_hidden_state, audio_values) is declared
float16, and the weights are stored as float16 (the files are about half the size).

--compute fp16 (default), like optimum's fp16 export (onnxconverter_common's float16 conversion): every float in every
graph becomes float16 - initializers (the merged decoder's If branches included), Constant and ConstantOfShape
tensors, Cast(to=FLOAT) -> FLOAT16, graph inputs, outputs and value_info. Unlike it, no op is blocked: onnxruntime 1.30's
CPU provider loads and runs every op these graphs use in float16 (Softmax, ReduceMean, Pow, Sqrt, Erf, Tanh,
Elu, Conv, ConvTranspose, MatMul ... checked one by one), inserting its own Casts to float32 around kernels
it has only in float32.

--compute fp32 ("storage fp16"): the graph inside stays float32; each float16 weight is Cast to float32 where
the graph starts, the float16 inputs are Cast to float32 on the way in and the outputs to float16 on the way
out. Float Constant nodes with at least MIN_CONST_ELEMENTS values are stored float16 as well (and Cast back);
smaller ones (epsilons, the -3.4e38 of attention masks) stay float32. For a runtime that lacks float16 kernels
and does not insert Casts itself.

On test/fixtures/musicgen-tiny both modes give the same differences from fp32 (--check).

Float16 values are clipped to +-65504 (float16's range).
"""
import argparse
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

GRAPHS = ['text_encoder', 'decoder_model_merged', 'encodec_decode']
MIN_CONST_ELEMENTS = 64
F16_MAX = 65504.0


def to_half(arr):
    return np.clip(arr, -F16_MAX, F16_MAX).astype(np.float16)


def defines(graph, name):
    return any(name in n.output for n in graph.node) or any(i.name == name for i in list(graph.input) + list(graph.initializer))


def rename_uses(graph, old, new, nested=True):
    """Renames every read of `old` in graph and, with nested, its subgraphs' outer-scope reads (not where one defines its own)."""
    for node in graph.node:
        for i, name in enumerate(node.input):
            if name == old:
                node.input[i] = new
        for attr in node.attribute:
            if not nested:
                continue
            for g in [attr.g] if attr.type == onnx.AttributeProto.GRAPH else attr.graphs:
                if not defines(g, old):
                    rename_uses(g, old, new)


def convert_graph(graph, top):
    """Stores float weights as float16 with a Cast back to float32 at the start of `graph`; recurses into subgraphs."""
    head = []  # nodes that go before the graph's own
    kept = []
    for init in graph.initializer:
        if init.data_type != TensorProto.FLOAT:
            kept.append(init)
            continue
        half = numpy_helper.from_array(to_half(numpy_helper.to_array(init)), init.name + '__fp16')
        kept.append(half)
        head.append(helper.make_node('Cast', [half.name], [init.name], to=TensorProto.FLOAT, name=init.name + '__to_fp32'))
    del graph.initializer[:]
    graph.initializer.extend(kept)
    # graph inputs that are initializers (old exports): drop them, the Cast now defines the name
    inits = {i.name for i in graph.initializer} | {n.output[0] for n in head}
    inputs = [i for i in graph.input if i.name not in inits]
    del graph.input[:]
    graph.input.extend(inputs)

    body = []
    for node in graph.node:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                convert_graph(attr.g, False)
            elif attr.type == onnx.AttributeProto.GRAPHS:
                for g in attr.graphs:
                    convert_graph(g, False)
        if node.op_type == 'Constant' and len(node.attribute) == 1 and node.attribute[0].name == 'value':
            t = node.attribute[0].t
            if t.data_type == TensorProto.FLOAT and int(np.prod(t.dims)) >= MIN_CONST_ELEMENTS:
                out = node.output[0]
                half = numpy_helper.from_array(to_half(numpy_helper.to_array(t)), t.name)
                node.attribute[0].t.CopyFrom(half)
                node.output[0] = out + '__fp16'
                body.append(node)
                body.append(helper.make_node('Cast', [out + '__fp16'], [out], to=TensorProto.FLOAT, name=out + '__to_fp32'))
                continue
        body.append(node)

    tail = []
    if top:
        for inp in graph.input:
            tt = inp.type.tensor_type
            if tt.elem_type != TensorProto.FLOAT:
                continue
            inside = inp.name + '__fp32'
            rename_uses(graph, inp.name, inside)  # graph.node: the nodes in body, less the new Casts
            tt.elem_type = TensorProto.FLOAT16
            head.append(helper.make_node('Cast', [inp.name], [inside], to=TensorProto.FLOAT, name=inp.name + '__to_fp32'))
        for out in graph.output:
            tt = out.type.tensor_type
            if tt.elem_type != TensorProto.FLOAT:
                continue
            inside = out.name + '__fp32'
            for n in body:
                for i, name in enumerate(n.output):
                    if name == out.name:
                        n.output[i] = inside
            rename_uses(graph, out.name, inside, nested=False)  # an output also read in the graph (subgraphs cannot see it)
            for vi in graph.value_info:
                if vi.name == out.name:
                    vi.name = inside
            tt.elem_type = TensorProto.FLOAT16
            tail.append(helper.make_node('Cast', [inside], [out.name], to=TensorProto.FLOAT16, name=out.name + '__to_fp16'))
    # body holds references into graph.node: copy before clearing it
    nodes = [onnx.NodeProto.FromString(n.SerializeToString()) for n in head + body + tail]
    del graph.node[:]
    graph.node.extend(nodes)


def half_tensor(t):
    return numpy_helper.from_array(to_half(numpy_helper.to_array(t)), t.name)


def convert_graph_full(graph):
    """--compute fp16: everything float becomes float16 (weights, constants, Casts, inputs, outputs, value_info)."""
    for i, init in enumerate(graph.initializer):
        if init.data_type == TensorProto.FLOAT:
            graph.initializer[i].CopyFrom(half_tensor(init))
    for vi in list(graph.input) + list(graph.output) + list(graph.value_info):
        if vi.type.tensor_type.elem_type == TensorProto.FLOAT:
            vi.type.tensor_type.elem_type = TensorProto.FLOAT16
    for node in graph.node:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                convert_graph_full(attr.g)
            elif attr.type == onnx.AttributeProto.GRAPHS:
                for g in attr.graphs:
                    convert_graph_full(g)
            elif attr.type == onnx.AttributeProto.TENSOR and attr.t.data_type == TensorProto.FLOAT:
                attr.t.CopyFrom(half_tensor(attr.t))  # Constant value, ConstantOfShape value
            elif node.op_type == 'Cast' and attr.name == 'to' and attr.i == TensorProto.FLOAT:
                attr.i = TensorProto.FLOAT16


def convert(src, dst, compute='fp16'):
    model = onnx.load(src)
    if compute == 'fp16':
        convert_graph_full(model.graph)
    else:
        convert_graph(model.graph, True)
    onnx.checker.check_model(model)
    onnx.save(model, dst)
    return os.path.getsize(src), os.path.getsize(dst)


def check(folder, variant='_fp16'):
    """fp32 vs a variant (_fp16, or _quantized from to_q8.py: float32 I/O) in onnxruntime-node on the same inputs;
    returns {what: (max abs diff, max abs fp32 value)}."""
    import json
    import tempfile
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import export as ex  # noqa: E402  (imports torch: only for --check)

    cfg = json.load(open(os.path.join(folder, 'config.json')))
    dec = cfg['decoder']
    layers, heads, K = dec['num_hidden_layers'], dec['num_attention_heads'], dec['num_codebooks']
    head_dim = dec['hidden_size'] // heads
    rng = np.random.default_rng(0)
    onnx_dir = os.path.join(folder, 'onnx')
    path = lambda g, half: os.path.join(onnx_dir, g + (variant if half else '') + '.onnx')  # noqa: E731
    f = lambda a, half: a.astype(np.float16) if half and variant == '_fp16' else a  # noqa: E731
    text_ids = rng.integers(2, cfg['text_encoder']['vocab_size'], size=(1, 6)).astype(np.int64)
    text_mask = np.ones_like(text_ids)
    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        text32, text16 = ex.run_onnx([(path('text_encoder', h), {'input_ids': text_ids, 'attention_mask': text_mask}) for h in (0, 1)], tmp)
    states = np.concatenate([text32['last_hidden_state'], np.zeros_like(text32['last_hidden_state'])])  # CFG rows
    mask = np.concatenate([text_mask, np.zeros_like(text_mask)])
    figures['text_encoder last_hidden_state'] = (text16['last_hidden_state'], text32['last_hidden_state'])
    steps = 5
    ids = rng.integers(0, dec['vocab_size'], size=(2 * K, steps)).astype(np.int64)
    step = rng.integers(0, dec['vocab_size'], size=(2 * K, 1)).astype(np.int64)
    empty = np.zeros((2, heads, 0, head_dim), dtype=np.float32)
    past_names = ex.kv_names('past_key_values', layers)
    present_names = ex.kv_names('present', layers)
    common = lambda h: {'encoder_hidden_states': f(states, h), 'encoder_attention_mask': mask}  # noqa: E731
    with tempfile.TemporaryDirectory() as tmp:
        first = ex.run_onnx([(path('decoder_model_merged', h), {'input_ids': ids, **common(h), **{n: f(empty, h) for n in past_names},
                                                                 'use_cache_branch': np.array([False])}) for h in (0, 1)], tmp)
    with tempfile.TemporaryDirectory() as tmp:
        # each variant continues from its own presents, as the runtime does
        second = ex.run_onnx([(path('decoder_model_merged', h), {'input_ids': step, **common(h), 'use_cache_branch': np.array([True]),
                                                                  **{p: f(first[h][q], h) for p, q in zip(past_names, present_names)}})
                              for h in (0, 1)], tmp)
    figures[f'no-past logits ({steps} steps)'] = (first[1]['logits'], first[0]['logits'])
    figures['no-past present.*'] = (np.concatenate([first[1][n].ravel() for n in present_names]),
                                    np.concatenate([first[0][n].ravel() for n in present_names]))
    figures['with-past logits (1 step)'] = (second[1]['logits'], second[0]['logits'])
    if os.path.exists(path('encodec_decode', 1)):
        codes = rng.integers(0, cfg['audio_encoder']['codebook_size'], size=(1, 1, K, 7)).astype(np.int64)
        with tempfile.TemporaryDirectory() as tmp:
            a32, a16 = ex.run_onnx([(path('encodec_decode', h), {'audio_codes': codes}) for h in (0, 1)], tmp)
        figures['encodec_decode audio_values'] = (a16['audio_values'], a32['audio_values'])
    out = {}
    for name, (half, full) in figures.items():
        assert half.shape == full.shape, (name, half.shape, full.shape)
        out[name] = (float(np.abs(half - full).max()), float(np.abs(full).max()))
        label = 'fp16' if variant == '_fp16' else variant.strip('_')
        print(f'  max |{label} - fp32| {name:36s} {out[name][0]:.2e}  (max |fp32| {out[name][1]:.2e}, '
              f'relative {out[name][0] / max(out[name][1], 1e-30):.1e}, Pearson {np.corrcoef(half.ravel(), full.ravel())[0, 1]:.5f})')
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('folder')
    ap.add_argument('--graphs', default=','.join(GRAPHS))
    ap.add_argument('--check', action='store_true', help='compare fp16 with fp32 in onnxruntime-node')
    ap.add_argument('--compute', choices=['fp16', 'fp32'], default='fp16',
                    help='fp16 (default): every float in the graphs float16, as optimum exports; fp32: float16 weights and I/O, '
                         'float32 compute inside')
    args = ap.parse_args()
    for name in args.graphs.split(','):
        src = os.path.join(args.folder, 'onnx', name + '.onnx')
        if not os.path.exists(src):
            print(f'{src}: missing, skipped', file=sys.stderr)
            continue
        dst = os.path.join(args.folder, 'onnx', name + '_fp16.onnx')
        a, b = convert(src, dst, args.compute)
        print(f'{dst}: {b} bytes ({a} fp32, {b / a:.2f}x)')
    if args.check:
        check(args.folder)


if __name__ == '__main__':
    main()
