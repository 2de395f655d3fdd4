"""Where a query's embedding time goes, and whether other matmul kernels beat the shipped
4-bit ``MatMulNBits`` on this machine (docs/benchmarks.md "Where the query embedding's
time goes").

    python -m research.matmul_research [--cache-dir DIR] [--runs 200]

One query of 12 tokens (``<s>`` + 10 pieces + ``</s>``, a typical chat question with the
"query: " prefix), one intra-op thread as shipped. Prints the CPU, then the shipped
model's time per run by ONNX operator type (onnxruntime's own profiler), then the p50 of
the same graph with its 48 linear layers rewritten from the same 4-bit weights as:
float32 ``MatMul`` + ``Add`` (weights dequantized exactly), and 8-bit ``MatMulNBits``
(the 4-bit codes re-centred in 8 bits: the same weights) at accuracy levels 4 and 0,
each with its cosine to the shipped model's pooled vector.
"""

from __future__ import annotations

import argparse
import collections
import copy
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper

from memory_core.embedding.config import EmbedderConfig
from memory_core.embedding.e5_offline import ensure_e5_model

IDS = np.array([[0, *range(1000, 1010), 2]], dtype=np.int64)
FEED = {"input_ids": IDS, "attention_mask": np.ones_like(IDS)}


def session(model: onnx.ModelProto, profile_dir: str | None = None) -> ort.InferenceSession:
    """The shipped session options (memory_core.embedding.session_embedder.open_session)."""
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.enable_cpu_mem_arena = False
    if profile_dir:
        so.enable_profiling = True
        so.profile_file_prefix = str(Path(profile_dir) / "ort")
    return ort.InferenceSession(model.SerializeToString(), sess_options=so, providers=["CPUExecutionProvider"])


def pooled(s: ort.InferenceSession) -> np.ndarray:
    v = s.run(None, FEED)[0].mean(axis=1)[0]
    return v / np.linalg.norm(v)


def p50_ms(s: ort.InferenceSession, runs: int) -> float:
    for _ in range(20):
        s.run(None, FEED)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        s.run(None, FEED)
        times.append((time.perf_counter() - t) * 1000)
    return float(np.median(times))


def by_operator(model: onnx.ModelProto, runs: int) -> None:
    with tempfile.TemporaryDirectory() as d:
        s = session(model, d)
        for _ in range(runs):
            s.run(None, FEED)
        events = json.loads(Path(s.end_profiling()).read_text())
    total, count = collections.Counter(), collections.Counter()
    for e in events:
        if e.get("cat") == "Node":
            total[e["args"]["op_name"]] += e["dur"]
            count[e["args"]["op_name"]] += 1
    print(f"\n| operator | nodes | ms per run |\n|---|---|---|")
    for op, us in total.most_common(6):
        print(f"| {op} | {count[op] // runs} | {us / runs / 1000:.2f} |")
    print(f"| all | | {sum(total.values()) / runs / 1000:.2f} |")


def rewritten(model: onnx.ModelProto, kind: str, level: int = 4) -> onnx.ModelProto:
    """``model`` with every MatMulNBits as ``kind`` ("fp32" or "q8"), same weights."""
    m = copy.deepcopy(model)
    g = m.graph
    inits = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    nodes = []
    for n in g.node:
        if n.op_type != "MatMulNBits":
            nodes.append(n)
            continue
        attr = {a.name: a.i for a in n.attribute}
        k, rows = attr["K"], attr["N"]
        packed = inits[n.input[1]]  # [N, blocks, 16]: value 2i in the low nibble, 2i + 1 in the high
        codes = np.stack([packed & 15, packed >> 4], axis=-1).reshape(rows, packed.shape[1], 32).astype(np.int32)
        if kind == "fp32":
            scales = inits[n.input[2]].reshape(rows, -1, 1)
            weight = ((codes - 8) * scales).reshape(rows, k).T.astype(np.float32)
            g.initializer.append(numpy_helper.from_array(np.ascontiguousarray(weight), n.input[1] + ".f32"))
            nodes += [helper.make_node("MatMul", [n.input[0], n.input[1] + ".f32"], [n.output[0] + ".mm"]),
                      helper.make_node("Add", [n.output[0] + ".mm", n.input[5]], list(n.output))]
        else:
            g.initializer.append(numpy_helper.from_array((codes + 120).astype(np.uint8), n.input[1] + ".q8"))
            nodes.append(helper.make_node(
                "MatMulNBits", [n.input[0], n.input[1] + ".q8", n.input[2], "", "", n.input[5]], list(n.output),
                domain="com.microsoft", K=k, N=rows, bits=8, block_size=32, accuracy_level=level))
    del g.node[:]
    g.node.extend(nodes)
    used = {i for n in g.node for i in n.input}
    kept = [i for i in g.initializer if i.name in used]
    del g.initializer[:]
    g.initializer.extend(kept)
    return m


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache-dir", type=Path, default=None, help="the embedder's model cache (default: its default)")
    ap.add_argument("--runs", type=int, default=200)
    args = ap.parse_args()
    folder = ensure_e5_model(args.cache_dir or EmbedderConfig().resolved_cache_dir())
    model = onnx.load(str(folder / "model.onnx"))
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    print(f"CPU: {cpu}; onnxruntime {ort.__version__}; one query of {IDS.shape[1]} tokens, 1 thread")
    by_operator(model, args.runs)
    shipped = session(model)
    ref = pooled(shipped)
    print(f"\n| linear layers as | p50 ms | cosine to shipped |\n|---|---|---|")
    print(f"| MatMulNBits 4-bit, accuracy 4 (shipped) | {p50_ms(shipped, args.runs):.2f} | 1 |")
    for label, kind, level in (("MatMul float32", "fp32", 4), ("MatMulNBits 8-bit, accuracy 4", "q8", 4),
                               ("MatMulNBits 8-bit, accuracy 0", "q8", 0)):
        s = session(rewritten(model, kind, level))
        print(f"| {label} | {p50_ms(s, args.runs):.2f} | {float(pooled(s) @ ref):.6f} |")


if __name__ == "__main__":
    main()
