"""What a threshold on the search score can do: the research behind the relative score
(memory_core/embedding/calibration.py, docs/retrieval.md "What a score means").

    python -m research.score_research --locomo ../shared/data/locomo/locomo-dev.json \
        --madial ../shared/data/madial-zh --out /tmp/score_research

For each half of each dev set (bench/memory_bench.py's halves, one add() per message as
the proxy stores a chat) it stores the memories with the product's Memory, then for each
question, and for "never mentioned" probes (bench/retrieval_sets.py's lists), records
the product's top 50 fused candidates with their raw cosines and the query's baseline
(memory_core.embedding.calibration.baseline). Then it prints, per half, what a threshold
keeps under several score maps: the absolute one, the relative one, and their minimum
(what ships), at relative thresholds from 0.0 to 0.08, and the precision / kept frontier
of the best threshold per set. Then, on top of the shipped score, per-query cuts against
the user's own memories: the cosine must clear the k-th best cosine of the user's
candidates by t ("own background"), or lie within d of the best one ("gap to the top"),
or stand z standard deviations above the cosines ranked 10-50. Candidates are cached in
--out (a pickle per half).
"""

from __future__ import annotations

import argparse
import pickle
import tempfile
from pathlib import Path

import numpy as np

from bench.embedding_cache import CachedEmbedder
from bench.memory_bench import halves, store_set
from bench.retrieval_sets import load_locomo, load_madial, probes_for
from memory_core import Memory
from memory_core.embedding import create_embedder
from memory_core.embedding.calibration import E5_SMALL, RelativeCalibration, baseline
from memory_core.embedding.config import EmbedderConfig
from memory_core.items import public_id
from memory_core.vector_store import QueryVectors
from memory_core.vector_store.sparse import sparse_query

WINDOW = 20  # candidates Memory.search looks at with a threshold (limit 10 + 10 spare)


def candidates(m: Memory, text: str, user: str, keys_of: dict) -> dict:
    qv = m.embedder.embed_queries([text])[0]
    flt = m._filter(m._scope(None, user, None, None))
    hits = m._store.search(QueryVectors(qv, sparse_query(text)), flt, 50)
    return {"keys": [keys_of.get(public_id(h.id), []) for h in hits], "cos": np.array([h.score for h in hits]),
            "base": baseline(qv, m.embedder._reference_vectors())}


def collect(rs, embedder, path: Path) -> list[dict]:
    if path.exists():
        return pickle.loads(path.read_bytes())
    rows = []
    with tempfile.TemporaryDirectory() as d, Memory({"data_dir": d}, embedder=embedder) as m:
        keys_of = store_set(m, rs, "message")
        for q in rs.queries:
            rows.append({**candidates(m, q.text, q.user, keys_of), "gold": q.gold})
        for user in rs.memories:
            rows += [{**candidates(m, p, user, keys_of), "gold": None} for p in probes_for(rs)]
    path.write_bytes(pickle.dumps(rows))
    return rows


def at_threshold(rows: list[dict], score, limit: int = 10) -> dict[str, float]:
    """Precision (micro), R@10 kept against threshold 0, returned per query, probes empty."""
    returned = gold_returned = probes = empty = 0
    kept, full, per_query = [], [], []
    for r in rows:
        if "keep" in r:
            picked = r["keep"][:limit]
        else:
            picked = [i for i, c in enumerate(r["cos"][:WINDOW]) if score(c, r["base"]) >= 0.5][:limit]
        if r["gold"] is None:
            probes += 1
            empty += not picked
            continue
        found = {k for i in picked for k in r["keys"][i]}
        top = {k for i in range(min(limit, len(r["keys"]))) for k in r["keys"][i]}
        kept.append(len(found & r["gold"]) / len(r["gold"]))
        full.append(len(top & r["gold"]) / len(r["gold"]))
        returned += len(picked)
        gold_returned += sum(bool(set(r["keys"][i]) & r["gold"]) for i in picked)
        per_query.append(len(picked))
    return {"precision": gold_returned / max(returned, 1), "kept": np.mean(kept) / max(np.mean(full), 1e-9),
            "returned": float(np.mean(per_query)), "probes empty": empty / max(probes, 1)}


def shipped(cosine: float, base: float) -> float:
    return min(E5_SMALL(cosine), E5_SMALL.relative(cosine, base))


def passing(r: dict) -> list[int]:
    """Positions of the candidates the shipped score keeps at the default threshold."""
    return [i for i, c in enumerate(r["cos"][:WINDOW]) if shipped(c, r["base"]) >= 0.5]


def cut_figures(rows: list[dict], keep, limit: int = 10) -> dict[str, float]:
    """at_threshold's figures for a cut ``keep(row) -> candidate positions kept``."""
    return at_threshold([{**r, "keep": keep(r)} for r in rows], None, limit)


def own_background(k: int, t: float):
    def keep(r: dict) -> list[int]:
        ranked = np.sort(r["cos"])[::-1]
        passed = passing(r)
        return passed if len(ranked) <= k else [i for i in passed if r["cos"][i] - ranked[k] >= t]
    return keep


def gap_to_top(d: float):
    def keep(r: dict) -> list[int]:
        passed = passing(r)
        top = max(r["cos"][:WINDOW], default=0.0)
        return [i for i in passed if r["cos"][i] >= top - d]
    return keep


def z_above_ranks_10_to_50(z: float):
    def keep(r: dict) -> list[int]:
        ranked = np.sort(r["cos"])[::-1]
        passed = passing(r)
        if len(ranked) < 50:
            return passed
        mean, sd = ranked[10:50].mean(), ranked[10:50].std() + 1e-6
        return [i for i in passed if (r["cos"][i] - mean) / sd >= z]
    return keep


def report_cuts(name: str, rows: list[dict]) -> None:
    print(f"\n## {name}: per-query cuts on top of the shipped score\n"
          "| cut | precision | kept | returned | probes empty |\n|---|---|---|---|---|")
    cuts = [("none (shipped)", passing)]
    cuts += [(f"own background k={k} t={t}", own_background(k, t)) for k in (10, 20, 30) for t in (0.01, 0.02, 0.03)]
    cuts += [(f"gap to the top d={d}", gap_to_top(d)) for d in (0.01, 0.02, 0.03, 0.04)]
    cuts += [(f"z above ranks 10-50 z={z}", z_above_ranks_10_to_50(z)) for z in (1.5, 2.0, 2.5, 3.0)]
    for label, keep in cuts:
        f = cut_figures(rows, keep)
        print(f"| {label} | {f['precision']:.2f} | {f['kept']:.0%} | {f['returned']:.1f} | {f['probes empty']:.0%} |")


def report_gold_ranks(name: str, rows: list[dict]) -> None:
    """Where the relevant memories found in the top 10 sit: a cut that keeps 90% of R@10
    must keep every rank that holds a tenth of them."""
    ranks = np.array([i + 1 for r in rows if r["gold"] is not None
                      for i in range(min(10, len(r["keys"]))) if set(r["keys"][i]) & r["gold"]])
    gold = np.mean([len(r["gold"]) for r in rows if r["gold"] is not None])
    print(f"\n{name}: {gold:.1f} relevant memories per question; of those in the top 10, "
          f"{np.mean(ranks == 1):.0%} at rank 1, {np.mean((ranks >= 2) & (ranks <= 3)):.0%} at 2-3, "
          f"{np.mean(ranks >= 4):.0%} at 4-10")


def report(name: str, rows: list[dict]) -> None:
    print(f"\n## {name}: {sum(r['gold'] is not None for r in rows)} questions, "
          f"{sum(r['gold'] is None for r in rows)} probes")
    print("| score | relative threshold | precision | kept | returned | probes empty |\n|---|---|---|---|---|---|")
    maps = {"absolute": lambda t: lambda c, b: E5_SMALL(c),
            "relative": lambda t: RelativeCalibration(-0.033, t, t + max(0.04, 2 * (0.0615 - t))),
            "min (shipped form)": lambda t: (lambda rc: lambda c, b: min(E5_SMALL(c), rc(c, b)))(
                RelativeCalibration(-0.033, t, t + max(0.04, 2 * (0.0615 - t))))}
    for label, make in maps.items():
        for t in ((0.025,) if label == "absolute" else (0.0, 0.02, 0.025, 0.03, 0.04, 0.05, 0.06, 0.08)):
            f = at_threshold(rows, make(t))
            print(f"| {label} | {t if label != 'absolute' else '-'} | {f['precision']:.2f} | {f['kept']:.0%} | "
                  f"{f['returned']:.1f} | {f['probes empty']:.0%} |")


def dev_halves(description: str):
    """The command line shared by the research scripts over the dev sets (--locomo,
    --madial, --out): the embedder, then each (name, half, set, cache file) to run."""
    ap = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--locomo", help="path to locomo-dev.json")
    ap.add_argument("--madial", help="folder with dev-memories.jsonl and dev-queries.jsonl")
    ap.add_argument("--out", type=Path, required=True, help="folder for the cached candidates")
    ap.add_argument("--embedding-cache", type=Path, help="folder that keeps the dev-set texts' vectors between runs")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    sets = []
    if args.locomo:
        sets.append(("locomo", load_locomo(args.locomo)))
    if args.madial:
        sets += [("madial-dialogue", load_madial(args.madial)), ("madial-last", load_madial(args.madial, True))]
    runs = [(name, label, part, args.out / f"{name}-{label}.pkl")
            for name, rs in sets for label, part in halves(rs).items()]
    return CachedEmbedder(create_embedder(EmbedderConfig()), args.embedding_cache), runs


def main() -> None:
    embedder, runs = dev_halves(__doc__)
    for name, label, part, cache in runs:
        rows = collect(part, embedder, cache)
        report(f"{name} {label}", rows)
        report_cuts(f"{name} {label}", rows)
        report_gold_ranks(f"{name} {label}", rows)


if __name__ == "__main__":
    main()
