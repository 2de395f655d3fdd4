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

That score is what search uses (:class:`RelativeCalibration`): each query first gets a
*baseline*, its mean cosine to a fixed set of everyday memories that have nothing to
do with it (``BASELINE_MEMORIES``, 20 Chinese and 20 English; the higher of the two
languages' means, so a Chinese query is measured against Chinese text), and the
relative score maps ``cosine - baseline``, how much more similar a memory is to the
query than an arbitrary memory would be. The shift takes the model's language bias out
(e5: zh unrelated pairs at +0.00 above their baseline, en at -0.01) and the query's own
one (a long or generic query is close to everything). A search result's score is the
lower of the absolute and the relative score: a memory must clear both. (Alone, the
relative one is more lenient than the absolute one for English questions that name
people, whose baselines are low: on LoCoMo's tuning half it emptied 0% of the "never
mentioned" probes against the absolute map's 53%.) ``python -m bench.embedding_bench
--calibrate`` derives the constants from the labelled pairs as above; they were then
checked on the tuning halves of LoCoMo and MADial-zh (docs/retrieval.md, "What a score
means").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Everyday memories about nothing in particular, written for the baseline (not taken
# from any evaluation set). Changing them changes every score: recalibrate after.
BASELINE_MEMORIES = {
    "zh": ["我上个月刚搬了新家", "我每天早上七点起床跑步", "我和同事周五一起吃了晚饭", "我的手机屏幕摔碎了",
           "我最近在看一部历史纪录片", "我打算明年去云南旅游", "我奶奶今年八十岁了", "我喜欢在阳台上种花",
           "我下周要参加一个面试", "我昨天去超市买了很多水果", "我小时候学过钢琴", "我的电脑运行越来越慢",
           "我和朋友约好周末去看电影", "我正在准备考研", "我觉得最近工作压力很大", "我家楼下新开了一家咖啡店",
           "我的自行车被偷了", "我每周去一次游泳馆", "我刚读完一本科幻小说", "我妈妈做的饺子最好吃"],
    "en": ["I moved into a new apartment last month", "I go for a run every morning at seven",
           "I had dinner with my coworkers on Friday", "My phone screen cracked yesterday",
           "I've been watching a history documentary lately", "I'm planning a trip to Portugal next year",
           "My grandmother turned eighty this year", "I grow tomatoes on my balcony",
           "I have a job interview next week", "I bought a lot of fruit at the market yesterday",
           "I took piano lessons as a kid", "My laptop keeps getting slower",
           "I'm seeing a movie with friends this weekend", "I'm studying for a graduate entrance exam",
           "Work has been really stressful recently", "A new coffee shop opened near my place",
           "Someone stole my bike", "I go swimming once a week", "I just finished a science fiction novel",
           "My mom makes the best dumplings"],
}


def _piecewise(x: float, zero: float, half: float, one: float) -> float:
    """Linear through (zero, 0), (half, 0.5), (one, 1), clipped to [0, 1]."""
    if x >= half:
        s = 0.5 + 0.5 * (x - half) / (one - half)
    else:
        s = 0.5 * (x - zero) / (half - zero)
    return min(1.0, max(0.0, s))


@dataclass(frozen=True)
class RelativeCalibration:
    """The score of ``cosine - baseline``: ``unrelated`` -> 0, ``threshold`` -> 0.5,
    ``top`` -> 1.0 (clipped)."""

    unrelated: float
    threshold: float
    top: float

    def __post_init__(self) -> None:
        if not self.unrelated < self.threshold < self.top:
            raise ValueError("relative calibration needs unrelated < threshold < top")

    def __call__(self, cosine: float, baseline: float) -> float:
        return _piecewise(float(cosine) - baseline, self.unrelated, self.threshold, self.top)


@dataclass(frozen=True)
class ScoreCalibration:
    """The absolute map of a cosine (``unrelated`` -> 0, ``threshold`` -> 0.5, 1 -> 1),
    and, when the model has figures for it, the query-relative map search uses and the
    ``follow_up`` margin: how far above the query's baseline among everyday texts
    embedded as queries an earlier message of the conversation must sit to count as
    being about the same thing (search then leans on it; memory_core/search_query.py)."""

    unrelated: float
    threshold: float
    relative: RelativeCalibration | None = None
    follow_up: float | None = None

    def __post_init__(self) -> None:
        if not self.unrelated < self.threshold < 1.0:
            raise ValueError("calibration needs unrelated < threshold < 1")

    def __call__(self, cosine: float) -> float:
        return _piecewise(float(cosine), self.unrelated, self.threshold, 1.0)


def baseline(query: np.ndarray, references: dict[str, np.ndarray]) -> float:
    """The query's mean cosine to each language's baseline memories, the highest."""
    return max(float(np.mean(vectors @ query)) for vectors in references.values())


# multilingual-e5-small (q4 weights), "query: " / "passage: ". --calibrate printed:
#   zh: related p10 0.880 median 0.909 | unrelated median 0.848 p95 0.878 | midpoint 0.879
#   en: related p10 0.819 median 0.847 | unrelated median 0.777 p95 0.804 | midpoint 0.812
#   all unrelated p5 0.753
# cosine - baseline (the relative map search uses), --calibrate printed:
#   zh: related p10 0.030 median 0.063 p90 0.085 | unrelated median 0.001 p95 0.029 | midpoint 0.030
#   en: related p10 0.042 median 0.060 p90 0.084 | unrelated median -0.009 p95 0.022 | midpoint 0.032
#   => RelativeCalibration(unrelated=-0.033, threshold=0.030, top=0.096). The threshold used
#   is 0.025, below that midpoint: at 0.030 three of the 14 zh related pairs fell under 0.5,
#   among them the README's own example ("我是谁？" / "你好，我叫张三", 0.026 above its
#   baseline). On MADial-zh's tuning half the "never mentioned" probes came back empty
#   73% of the time at 0.025 (0.030: 91%, 0.040: 100% but 75% of the related pairs kept);
#   top = threshold + 2 x (related median 0.0615 - threshold).
# follow_up: the cosine of a message's query vector to the mean of the two user messages
# before it, minus the message's mean cosine to BASELINE_MEMORIES embedded as queries.
# Tuning halves (python -m research.query_research): MADial-zh, earlier turns of the same
# dialogue p10 0.040 median 0.058, of another dialogue median 0.032 p90 0.049; LoCoMo,
# the questions asked before it median 0.131, another conversation's median 0.058.
# Of 0.03 / 0.045 / 0.06, 0.045 kept the gain where the turns belong together and lost
# least where they do not (docs/retrieval.md, "The query: the conversation's last
# message").
E5_SMALL = ScoreCalibration(unrelated=0.753, threshold=0.812,
                            relative=RelativeCalibration(unrelated=-0.033, threshold=0.025, top=0.098),
                            follow_up=0.045)

# all-MiniLM-L6-v2 (int8), no prefixes; English only, so the zh pairs are left out.
#   en: related p10 0.445 median 0.548 | unrelated median 0.130 p95 0.266 | midpoint 0.356
#   all unrelated p5 0.022
MINILM_L6 = ScoreCalibration(unrelated=0.022, threshold=0.356)

# A model we have no figures for: the raw cosine, with 0.5 in the middle of its range.
UNCALIBRATED = ScoreCalibration(unrelated=0.0, threshold=0.5)
