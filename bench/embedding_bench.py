"""Embedding speed, memory and score calibration, on this machine.

    python -m bench.embedding_bench                          # offline e5 (default)
    python -m bench.embedding_bench --provider minilm-offline --threads 2
    python -m bench.embedding_bench --build                  # also time a fresh build
    python -m bench.embedding_bench --calibrate              # derive score constants

Prints load time, RSS after load, single-query latency p50/p95 (zh and en, short,
after warm-up, every call a full embedding: there is no cache) and batch
throughput. The machine's load average is printed too: figures taken while other
work runs on the same cores are slower.
"""

from __future__ import annotations

import argparse
import os
import runpy
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

from memory_core.embedding import EmbedderConfig, create_embedder

QUERIES_ZH = ["我是谁？", "我喜欢什么运动？", "我住在哪里？", "我对什么过敏？", "我女儿几岁了？",
              "我周末一般做什么？", "我开什么车？", "我在学什么语言？"]
QUERIES_EN = ["What is my name?", "Which sport do I play?", "Where do I live?",
              "What am I allergic to?", "How old is my son?", "What do I do on weekends?",
              "What car do I drive?", "Which language am I learning?"]
DOCS = [
    "你好，我叫张三，在上海做软件工程师。",
    "我上周末和朋友去爬了黄山，风景特别美，但是下山的时候膝盖有点疼。",
    "I moved to Berlin last spring and I'm still learning German.",
    "My daughter starts primary school in September; we bought her a red backpack.",
    "用户不吃香菜，对花生过敏。",
    "The user prefers short answers and writes code mostly in Rust and Python, "
    "deploying to a small Kubernetes cluster on weekends.",
]


def rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def latency(emb, queries: list[str], rounds: int) -> tuple[float, float]:
    for q in queries:  # warm-up
        emb.embed_queries([q])
    times = []
    for _ in range(rounds):
        for q in queries:
            t = time.perf_counter()
            emb.embed_queries([q])
            times.append(time.perf_counter() - t)
    ms = np.array(times) * 1000
    return float(np.median(ms)), float(np.percentile(ms, 95))


def throughput(emb, n: int) -> float:
    docs = [f"{DOCS[i % len(DOCS)]} ({i})" for i in range(n)]
    emb.embed_documents(docs[:32])
    t = time.perf_counter()
    emb.embed_documents(docs)
    return n / (time.perf_counter() - t)


def calibrate(provider: str) -> None:
    """Print the ScoreCalibration constants (see memory_core/embedding/calibration.py):
    the absolute map of the cosine, and the relative map of cosine - the query's baseline."""
    from memory_core.embedding.calibration import baseline

    pairs = runpy.run_path(str(ROOT / "tests" / "embedding" / "calibration_pairs.py"))
    langs = ["ZH", "EN"] if provider == "e5-offline" else ["EN"]
    emb = create_embedder(EmbedderConfig(provider=provider))
    references = emb._reference_vectors()
    for kind in ("cosine", "cosine - baseline"):
        related, unrelated, cuts = [], [], []
        for lang in langs:
            q = emb.embed_queries([a for a, _ in pairs[lang]])
            d = emb.embed_documents([b for _, b in pairs[lang]])
            sims = q @ d.T
            if kind != "cosine":
                sims = sims - np.array([baseline(v, references) for v in q])[:, None]
            rel, unr = np.diag(sims), sims[~np.eye(len(sims), dtype=bool)]
            related.append(rel)
            unrelated.append(unr)
            cut = (np.percentile(rel, 10) + np.percentile(unr, 95)) / 2
            cuts.append(cut)
            print(f"{kind}, {lang}: related p10 {np.percentile(rel, 10):.3f} median {np.median(rel):.3f}"
                  f" p90 {np.percentile(rel, 90):.3f} | unrelated median {np.median(unr):.3f}"
                  f" p95 {np.percentile(unr, 95):.3f} | midpoint {cut:.3f}")
        rel, unr = np.concatenate(related), np.concatenate(unrelated)
        if kind == "cosine":
            print(f"=> ScoreCalibration(unrelated={np.percentile(unr, 5):.3f}, threshold={min(cuts):.3f})")
            cal = emb.calibration
            print(f"current constants: related > 0.5: {np.mean([cal(c) > 0.5 for c in rel]):.0%}, "
                  f"unrelated < 0.5: {np.mean([cal(c) < 0.5 for c in unr]):.0%}")
        else:
            # top: where the score reaches 1, twice as far above the threshold as the related median
            top = min(cuts) + 2 * (np.median(rel) - min(cuts))
            print(f"=> RelativeCalibration(unrelated={np.percentile(unr, 5):.3f}, threshold={min(cuts):.3f}, "
                  f"top={top:.3f})")
            rc = emb.calibration.relative
            if rc is not None:
                print(f"current constants {rc}: related > 0.5: {np.mean([rc.threshold < c for c in rel]):.0%}, "
                      f"unrelated < 0.5: {np.mean([c < rc.threshold for c in unr]):.0%}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--provider", default="e5-offline", choices=["e5-offline", "minilm-offline"])
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--rounds", type=int, default=25, help="passes over the 8 queries per language")
    ap.add_argument("--batch", type=int, default=256, help="documents in the throughput run")
    ap.add_argument("--build", action="store_true", help="time a fresh build into a temp folder")
    ap.add_argument("--calibrate", action="store_true")
    args = ap.parse_args()

    if args.calibrate:
        calibrate(args.provider)
        return
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    if args.build and args.provider == "e5-offline":
        from memory_core.embedding.e5_offline import ensure_e5_model

        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            ensure_e5_model(Path(tmp))
            print(f"build (fresh, e5): {time.perf_counter() - t:.2f} s")
    base = rss_mb()
    t = time.perf_counter()
    emb = create_embedder(EmbedderConfig(provider=args.provider, threads=args.threads))
    load_s = time.perf_counter() - t
    emb.embed_queries(["warm-up"])
    print(f"{emb.name}: load {load_s:.2f} s (model cached), RSS {rss_mb():.0f} MB after load "
          f"(+{rss_mb() - base:.0f} MB over imports at {base:.0f} MB)")
    for lang, queries in (("zh", QUERIES_ZH), ("en", QUERIES_EN)):
        p50, p95 = latency(emb, queries, args.rounds)
        print(f"query latency {lang}: p50 {p50:.2f} ms, p95 {p95:.2f} ms")
    print(f"batch throughput: {throughput(emb, args.batch):.0f} documents/s ({args.batch} documents)")
    print(f"RSS at end: {rss_mb():.0f} MB; load average now {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
