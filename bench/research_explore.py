"""Ad-hoc exploration (round 7): fixed avg_len (as qdrant_edge.Bm25Config), 3 vs 4 sources."""
import sys
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent))
from retrieval_research import *  # noqa

path = "/work/shared/data/locomo/locomo-dev.json"
rs = load_locomo(path)
S = Sources(rs); S.dates = locomo_dates(path)
P = Bm25Params
T = "qdrant-multi-sw"
def show(name, s):
    print(fmt_row(name, evaluate(rs, s), True), flush=True)
tok = TOKENISERS[T]()
for v in ("plain", "ctx10", "plain+date", "ctx10+date"):
    print(v, np.mean([len(tok(t)) for u in S.users for t in S.doc_texts(v)[u]]))
d0, d1 = S.dense("plain"), S.dense("ctx10")
for al in (None, 8, 16, 32, 256):
    pu = P(scope="user", avg_len=al)
    b0d, b1d = S.bm25(T, pu, "plain+date"), S.bm25(T, pu, "ctx10+date")
    show(f"avg_len={al} BM25 plain+date", b0d)
    show(f"avg_len={al} BM25 ctx10+date", b1d)
    show(f"avg_len={al} k=2 H4+date", hybrid([d0, d1], [b0d, b1d], "rrf", 2))
    show(f"avg_len={al} k=2 H3+date (no plain bm25)", hybrid([d0, d1], [b1d], "rrf", 2))
