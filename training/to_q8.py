"""Writes the int8 (--dtype q8) variants of an exported MusicGen folder's graphs: onnx/X.onnx -> onnx/X_quantized.onnx.

    /usr/bin/python3 training/to_q8.py test/fixtures/musicgen-tiny [--graphs text_encoder,decoder_model_merged,encodec_decode] [--check]

--check runs both variants in onnxruntime-node (training/run_onnx.mjs) on the same seeded inputs (the decoder
twice: no past, then one step with the first run's presents) and prints the largest differences.

Dynamic weight quantization like onnxruntime's quantize_dynamic (the MatMulInteger form, as the
transformers.js / optimum *_quantized.onnx files): every MatMul whose second input is a rank-2 float32
initializer (the merged decoder's If branches included: its weights live in the outer graph and the branches
read them by name) becomes

    DynamicQuantizeLinear(x) -> x_q (uint8), x_scale, x_zero_point
    MatMulInteger(x_q, W_q (int8), x_zero_point) -> int32
    Cast(to=FLOAT) * (x_scale * W_scale)

with W_q symmetric int8 per column, 7 bits used (W_scale[n] = max |W[:, n]| / 63, zero point 0: MatMulInteger's b_zero_point
left out) and the product's scale a [N] vector. Each weight is quantized once and stored where the float one was,
so both If branches share it; the float weight is dropped unless something else (a Gather) still reads it.
Everything else stays float32: Gather (embeddings), Conv / ConvTranspose (so encodec_decode, which has no MatMul,
is written unchanged), the graph inputs and outputs (as optimum's quantized exports). onnxruntime's CPU provider
has MatMulInteger for (uint8, int8) and (uint8, uint8).

The files are about 0.3x the fp32 ones where MatMul weights dominate (the decoder).
"""
import argparse
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

GRAPHS = ['text_encoder', 'decoder_model_merged', 'encodec_decode']
SUFFIX = '_quantized'


# Weights use 7 of int8's bits (onnxruntime quantize_dynamic's reduce_range). On x86 CPUs without VNNI
# (AVX2 only, most laptops and our CI machines) onnxruntime's uint8 x int8 kernel adds pairs of products in
# int16 (vpmaddubsw), which saturates once 2 * 255 * |w_q| > 32767: with |w_q| <= 127 logits came out 0.77
# away from fp32 on such a CPU, with |w_q| <= 63 (2 * 255 * 63 = 32130) they match on every CPU.
WEIGHT_MAX = 63


def quantize_weight(w):
    """Symmetric per column in [-WEIGHT_MAX, WEIGHT_MAX]: w ~ q * scale[None, :]."""
    amax = np.abs(w).max(axis=0)
    scale = np.where(amax > 0, amax / WEIGHT_MAX, 1.0).astype(np.float32)
    q = np.clip(np.rint(w / scale[None, :]), -WEIGHT_MAX, WEIGHT_MAX).astype(np.int8)
    return q, scale


class Quantizer:
    def __init__(self, model):
        self.model = model
        self.done = {}  # float weight name -> (int8 name, scale name)
        self.count = 0

    def weight(self, name, owner):
        """The int8 weight and scale of initializer `name` (defined in graph `owner`), made once."""
        if name not in self.done:
            init = next(i for i in owner.initializer if i.name == name)
            q, scale = quantize_weight(numpy_helper.to_array(init))
            owner.initializer.extend([numpy_helper.from_array(q, name + '_quantized'),
                                      numpy_helper.from_array(scale, name + '_scale')])
            self.done[name] = (name + '_quantized', name + '_scale')
        return self.done[name]

    def graph(self, graph, scopes):
        """Rewrites the MatMuls of `graph`; scopes: the enclosing graphs, outermost first (for initializer lookup)."""
        scopes = scopes + [graph]
        nodes = []
        for node in graph.node:
            for attr in node.attribute:
                if attr.type == onnx.AttributeProto.GRAPH:
                    self.graph(attr.g, scopes)
                elif attr.type == onnx.AttributeProto.GRAPHS:
                    for g in attr.graphs:
                        self.graph(g, scopes)
            owner = self.owner(node.input[1], scopes) if node.op_type == 'MatMul' else None
            if owner is None:
                nodes.append(node)
                continue
            wq, ws = self.weight(node.input[1], owner)
            x, y = node.input[0], node.output[0]
            base = node.name or y
            nodes += [
                helper.make_node('DynamicQuantizeLinear', [x], [y + '_x_q', y + '_x_scale', y + '_x_zp'], name=base + '_quant'),
                helper.make_node('MatMulInteger', [y + '_x_q', wq, y + '_x_zp'], [y + '_int32'], name=base + '_MatMulInteger'),
                helper.make_node('Cast', [y + '_int32'], [y + '_float'], to=TensorProto.FLOAT, name=base + '_cast'),
                helper.make_node('Mul', [y + '_x_scale', ws], [y + '_scale'], name=base + '_scale_mul'),
                helper.make_node('Mul', [y + '_float', y + '_scale'], [y], name=base + '_output_mul'),
            ]
            self.count += 1
        nodes = [onnx.NodeProto.FromString(n.SerializeToString()) for n in nodes]
        del graph.node[:]
        graph.node.extend(nodes)

    @staticmethod
    def owner(name, scopes):
        """The graph whose rank-2 float32 initializer `name` a read in scopes[-1] resolves to, or None."""
        for g in reversed(scopes):
            if any(name in n.output for n in g.node) or any(i.name == name for i in g.input):
                return None  # shadowed by a node output or a graph input
            for init in g.initializer:
                if init.name == name:
                    return g if init.data_type == TensorProto.FLOAT and len(init.dims) == 2 else None
        return None


def reads(graph, name):
    for node in graph.node:
        if name in node.input:
            return True
        for attr in node.attribute:
            for g in [attr.g] if attr.type == onnx.AttributeProto.GRAPH else attr.graphs:
                if reads(g, name):
                    return True
    return any(o.name == name for o in graph.output)


def drop_unused(graph, names):
    """Removes the float weights no node reads any more (also from graph.input, old exports)."""
    unused = {n for n in names if not reads(graph, n)}
    kept = [i for i in graph.initializer if i.name not in unused]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    inputs = [i for i in graph.input if i.name not in unused]
    del graph.input[:]
    graph.input.extend(inputs)
    return unused


def convert(src, dst):
    """Returns (fp32 bytes, quantized bytes, MatMuls quantized)."""
    model = onnx.load(src)
    q = Quantizer(model)
    q.graph(model.graph, [])
    drop_unused(model.graph, q.done.keys())
    if q.count and not any(o.domain in ('', 'ai.onnx') and o.version >= 11 for o in model.opset_import):
        raise SystemExit(f'{src}: DynamicQuantizeLinear needs opset 11 or later')
    onnx.checker.check_model(model)
    onnx.save(model, dst)
    return os.path.getsize(src), os.path.getsize(dst), q.count


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('folder')
    ap.add_argument('--graphs', default=','.join(GRAPHS))
    ap.add_argument('--check', action='store_true', help='compare q8 with fp32 in onnxruntime-node')
    args = ap.parse_args()
    for name in args.graphs.split(','):
        src = os.path.join(args.folder, 'onnx', name + '.onnx')
        if not os.path.exists(src):
            print(f'{src}: missing, skipped', file=sys.stderr)
            continue
        dst = os.path.join(args.folder, 'onnx', name + SUFFIX + '.onnx')
        a, b, n = convert(src, dst)
        print(f'{dst}: {b} bytes ({a} fp32, {b / a:.2f}x), {n} MatMul quantized')
    if args.check:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import to_fp16  # noqa: E402
        to_fp16.check(args.folder, variant=SUFFIX)


if __name__ == '__main__':
    main()
