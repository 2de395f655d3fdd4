"""Loaders and metrics for the retrieval-quality sets in ../shared/data (not shipped).

LoCoMo (English, long conversations) and MADial-Bench zh (Chinese), each reduced to
(memories per user, queries with gold memory ids), with the metrics their READMEs
define.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Query:
    user: str
    text: str
    gold: set[str]
    category: int | None = None
    gold_sessions: set[str] = field(default_factory=set)
    # The chat up to the question, as (role, text), when the set has one (MADial): what
    # a chat app sends; the user messages before the last are a search's context.
    dialogue: list[tuple[str, str]] = field(default_factory=list)

    @property
    def context(self) -> list[str]:
        return [text for role, text in self.dialogue[:-1] if role == "user"]


@dataclass
class RetrievalSet:
    name: str
    memories: dict[str, list[tuple[str, str]]]  # user -> [(key, text)] in order
    queries: list[Query]
    session_of: dict[str, str] = field(default_factory=dict)  # memory key -> session key
    date_of: dict[str, str] = field(default_factory=dict)  # session key -> ISO datetime (when known)


_DIA = re.compile(r"D(\d+):(\d+)")


def _clean_evidence(evidence: list, known: set[str]) -> set[str]:
    out: set[str] = set()
    for raw in evidence:
        text = str(raw).replace("D:", "D")
        for sess, turn in _DIA.findall(text):
            key = f"D{int(sess)}:{int(turn)}"
            if key in known:
                out.add(key)
    return out


_MONTHS = {m: i + 1 for i, m in enumerate(("january", "february", "march", "april", "may", "june", "july",
                                            "august", "september", "october", "november", "december"))}
_LOCOMO_DATE = re.compile(r"(\d{1,2}):(\d{2})\s*([ap]m)\s+on\s+(\d{1,2})\s+([A-Za-z]+),?\s+(\d{4})", re.I)


def locomo_datetime(text: str) -> str | None:
    """LoCoMo's "1:56 pm on 8 May, 2023" as ISO 8601 ("2023-05-08T13:56:00"), else None."""
    m = _LOCOMO_DATE.search(text or "")
    if not m or m.group(5).lower() not in _MONTHS:
        return None
    hour, minute, ampm, day, month, year = m.groups()
    h = int(hour) % 12 + (12 if ampm.lower() == "pm" else 0)
    return f"{int(year):04d}-{_MONTHS[month.lower()]:02d}-{int(day):02d}T{h:02d}:{int(minute):02d}:00"


def load_locomo(path: str | Path) -> RetrievalSet:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    memories: dict[str, list[tuple[str, str]]] = {}
    session_of: dict[str, str] = {}
    date_of: dict[str, str] = {}
    queries: list[Query] = []
    for sample in data:
        user = sample["sample_id"]
        conv = sample["conversation"]
        turns: list[tuple[str, str]] = []
        sessions = sorted((k for k in conv if re.fullmatch(r"session_\d+", k)),
                          key=lambda k: int(k.split("_")[1]))
        for s in sessions:
            when = locomo_datetime(conv.get(f"{s}_date_time", ""))
            if when:
                date_of[f"{user}/{s}"] = when
            for turn in conv[s]:
                key = f"{user}/{turn['dia_id']}"
                turns.append((key, f"{turn['speaker']}: {turn['text']}"))
                session_of[key] = f"{user}/{s}"
        memories[user] = turns
        known = {k.split("/", 1)[1] for k, _ in turns}
        for qa in sample["qa"]:
            cat = qa.get("category")
            if cat not in (1, 2, 3, 4):
                continue
            gold = {f"{user}/{d}" for d in _clean_evidence(qa.get("evidence", []), known)}
            if not gold:
                continue
            queries.append(Query(user, qa["question"], gold, cat,
                                 {session_of[g] for g in gold}))
    return RetrievalSet("locomo", memories, queries, session_of, date_of)


_MADIAL_TURN = re.compile(r'<([^>]+)>:"?(.*?)"?$')


def madial_dialogue(text: str) -> list[tuple[str, str]]:
    """MADial's dialogue lines (``<Bart>:"..."``) as chat turns: (user | assistant, text)."""
    turns = []
    for line in text.split("\n"):
        found = _MADIAL_TURN.match(line.strip())
        if found and found.group(2).strip():
            turns.append(("assistant" if found.group(1) == "Assistant" else "user", found.group(2).strip()))
    return turns


def load_madial(folder: str | Path, last_turn_only: bool = False, in_context: bool = False) -> RetrievalSet:
    """MADial-zh's queries: the whole dialogue as one text, or (``last_turn_only``) its
    last user turn as the set gives it (``<Bart>:"..."``), or (``in_context``) the last
    user turn as a chat sends it, the user's earlier turns as the search's context."""
    folder = Path(folder)
    memories: dict[str, list[tuple[str, str]]] = {}
    for line in (folder / "dev-memories.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            m = json.loads(line)
            memories.setdefault(str(m["user_id"]), []).append((str(m["mem_id"]), m["event"]))
    queries = []
    for line in (folder / "dev-queries.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            q = json.loads(line)
            dialogue = madial_dialogue(q["query"])
            text = dialogue[-1][1] if in_context else q["last_user_turn"] if last_turn_only else q["query"]
            queries.append(Query(str(q["user_id"]), text, {str(g) for g in q["gold"]},
                                 dialogue=dialogue if in_context else []))
    suffix = " (last turn in context)" if in_context else " (last turn)" if last_turn_only else ""
    return RetrievalSet("madial-zh" + suffix, memories, queries)


# "Never mentioned" probes: questions a personal chat memory of these sets would plausibly
# hold nothing about, so a search at the default threshold should return nothing. The
# lists were written before looking at any result and are not tuned to the data; a probe
# can still match a memory by chance (the benchmark prints the top returned text, for a
# reader to judge). English probes are asked of LoCoMo's users, Chinese ones of MADial's.
PROBES_EN = [
    "What is my passport number?",
    "What is my car's license plate number?",
    "What is my blood type?",
    "What is the Wi-Fi password at home?",
    "What is my bank account number?",
    "When is my car insurance policy due for renewal?",
    "What interest rate did I get on my mortgage?",
    "What is my shoe size?",
    "When did I last go to the dentist?",
    "What was my cholesterol level at the last check-up?",
    "Which stocks are in my investment portfolio?",
    "What is the PIN code of my debit card?",
    "What is the confirmation code of my next flight?",
    "How much was my last electricity bill?",
    "What dose of blood pressure medication do I take?",
    "What is my landlord's phone number?",
    "When is my next oil change due?",
    "What is my employee ID number?",
    "How much income tax did I pay last year?",
    "What is the combination of my gym locker?",
]
PROBES_ZH = [
    "我的车牌号是多少？",
    "我的护照号码是多少？",
    "我是什么血型？",
    "家里的Wi-Fi密码是什么？",
    "我的银行卡号是多少？",
    "我上次去牙医是什么时候？",
    "我的房贷利率是多少？",
    "我的鞋码是多大？",
    "我上次体检的胆固醇指标是多少？",
    "我买了哪些股票？",
    "我的手机开机密码是多少？",
    "我下次航班的订票号是什么？",
    "我上个月的电费是多少钱？",
    "我的降压药每天吃多少？",
    "我的房东电话是多少？",
    "我的车什么时候该换机油了？",
    "我的工号是多少？",
    "我去年交了多少个人所得税？",
    "我的健身房储物柜密码是多少？",
    "我的医保卡号是多少？",
]


def probes_for(rs: RetrievalSet) -> list[str]:
    """The never-mentioned probes in the set's language: Chinese for MADial-zh, else English."""
    return PROBES_ZH if rs.name.startswith("madial-zh") else PROBES_EN


def recall_at(ranked: list[str], gold: set[str], k: int) -> float:
    return len(gold & set(ranked[:k])) / len(gold)


def session_any_at(ranked: list[str], q: Query, session_of: dict[str, str], k: int) -> float:
    return float(bool({session_of[r] for r in ranked[:k] if r in session_of} & q.gold_sessions))
