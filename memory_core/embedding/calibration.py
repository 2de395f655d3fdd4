"""Map a model's raw cosine onto the 0-1 scale the memory API promises.

Each model spreads cosines differently: e5 puts a question and an unrelated memory
at ~0.75-0.90 and a related one at ~0.80-0.95, MiniLM at ~0-0.4 and ~0.43-0.7. A
threshold of 0.5 means "related" only after a per-model map. The map is piecewise
linear through ``unrelated`` -> 0, ``threshold`` -> 0.5 and 1.0 -> 1.0, clipped to
[0, 1]; it is monotone, so it never changes a ranking.

How the constants were derived: ``python -m bench.embedding_bench --calibrate``
embeds the labelled pairs in ``tests/embedding/calibration_pairs.py`` (14 zh and
14 en question / memory pairs written for this; each question crossed with the
other memories of its language gives 182 unrelated pairs per language) the way
search does (query prefix on the question, document prefix on the memory) and sets
- ``threshold``: per language, the midpoint between the unrelated 95th and the
  related 10th percentile; the lowest of these, so that no language loses related
  memories to the default 0.5 filter (a related memory dropped costs more than an
  unrelated one shown below it: ranking still puts the related one first);
- ``unrelated``: the 5th percentile of all unrelated cosines.

A limit of e5-small, not of the map: its Chinese cosines run ~0.07 above its
English ones (zh unrelated median 0.848, en related median 0.847), so no single
cosine map puts zh unrelated pairs below 0.5 and en related pairs above it. The
constants keep English recall; zh unrelated pairs mostly score 0.5-0.68 (median
0.60), below the zh related ones (mostly 0.68-0.85, median 0.76). Centering the vectors on a mean embedding aligns the
languages but cost 1-3 points of LoCoMo recall, so it is not done; a score that
also sees the query (its similarity to a typical memory of its language) would be
the fix.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ScoreCalibration:
    unrelated: float
    threshold: float

    def __post_init__(self) -> None:
        if not self.unrelated < self.threshold < 1.0:
            raise ValueError("calibration needs unrelated < threshold < 1")

    def __call__(self, cosine: float) -> float:
        c = float(cosine)
        if c >= self.threshold:
            s = 0.5 + 0.5 * (c - self.threshold) / (1.0 - self.threshold)
        else:
            s = 0.5 * (c - self.unrelated) / (self.threshold - self.unrelated)
        return min(1.0, max(0.0, s))


# multilingual-e5-small (q4 weights), "query: " / "passage: ". --calibrate printed:
#   zh: related p10 0.880 median 0.909 | unrelated median 0.848 p95 0.878 | midpoint 0.879
#   en: related p10 0.819 median 0.847 | unrelated median 0.777 p95 0.804 | midpoint 0.812
#   all unrelated p5 0.753
E5_SMALL = ScoreCalibration(unrelated=0.753, threshold=0.812)

# all-MiniLM-L6-v2 (int8), no prefixes; English only, so the zh pairs are left out.
#   en: related p10 0.445 median 0.548 | unrelated median 0.130 p95 0.266 | midpoint 0.356
#   all unrelated p5 0.022
MINILM_L6 = ScoreCalibration(unrelated=0.022, threshold=0.356)

# A model we have no figures for: the raw cosine, with 0.5 in the middle of its range.
UNCALIBRATED = ScoreCalibration(unrelated=0.0, threshold=0.5)
