"""Voting across playback speeds: the same chunk decoded at a few speeds, each word of the transcript kept or
replaced by the majority of the speeds' words aligned to it.

Unseen voices read better a little faster or slower than they speak, and which speed suits which voice is not
known at test time (the search's own scores do not tell: native-models/README.md), but the speeds' errors
differ, so a word-level vote (ROVER, Fiscus 1997) over them removes some.  The transcript at speed 1.0 is the
pivot: the others are aligned to it word by word, and a word changes only where more of the other speeds agree
on something else than agree with it (ties keep the pivot's), so the vote can replace or drop a word, never
add one.  The engine does the same (electron/engine/speed-vote.ts); the test fixture checks they agree.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np


class SpeedVote(NamedTuple):
    """The extra speeds, the prefixes each one's search keeps, and the scales (indexes) that vote; None: every
    scale.  The coarser scales are there to cost less, and the vote's searches cost the same at every scale."""

    speeds: tuple[float, ...]
    search_beams: int
    scales: tuple[int, ...] | None = None

    def votes_at(self, scale: int) -> bool:
        return self.scales is None or scale in self.scales

    def to_json(self) -> dict:
        return {"speeds": list(self.speeds), "search_beams": self.search_beams,
                **({} if self.scales is None else {"scales": [f"s{k}" for k in self.scales]})}

# A speed's playback is an integer number of samples and frames; both sides round the same way.


def play_at(pcm: np.ndarray, speed: float) -> np.ndarray:
    """``pcm`` played ``speed`` times as fast, by linear interpolation (no pitch correction: the resampled
    voice sounds higher, like a shorter vocal tract, which is what helps the voices the encoder never heard)."""
    if speed == 1.0:
        return pcm
    count = int(len(pcm) / speed)
    return np.interp(np.arange(count) * speed, np.arange(len(pcm)), pcm).astype(np.float32)


def frames_at(frames: np.ndarray, speed: float) -> np.ndarray:
    """The lip frames that match ``play_at``: the nearest frame (halves rounded up) at each new frame time."""
    if speed == 1.0:
        return frames
    count = int(len(frames) / speed)
    pick = np.minimum(np.floor(np.arange(count) * speed + 0.5).astype(np.int64), len(frames) - 1)
    return frames[pick]


def align(pivot: list[str], other: list[str]) -> list[str]:
    """For each pivot word, the word of ``other`` aligned to it by the least word edits, or '' where ``other``
    leaves it out.  Among equal alignments the trace back prefers a match or substitution, then a deletion."""
    rows, cols = len(pivot), len(other)
    cost = [[0] * (cols + 1) for _ in range(rows + 1)]
    for i in range(rows + 1):
        cost[i][0] = i
    for j in range(cols + 1):
        cost[0][j] = j
    for i in range(1, rows + 1):
        for j in range(1, cols + 1):
            cost[i][j] = min(cost[i - 1][j] + 1, cost[i][j - 1] + 1, cost[i - 1][j - 1] + (pivot[i - 1] != other[j - 1]))
    aligned = [""] * rows
    i, j = rows, cols
    while i > 0 and j > 0:
        if cost[i][j] == cost[i - 1][j - 1] + (pivot[i - 1] != other[j - 1]):
            aligned[i - 1] = other[j - 1]
            i, j = i - 1, j - 1
        elif cost[i][j] == cost[i - 1][j] + 1:
            i -= 1
        else:
            j -= 1
    return aligned


def vote(pivot: list[str], others: list[list[str]]) -> list[str]:
    """Each pivot word, or what a strict majority of the other transcripts put in its place ('' drops it).
    A word the others split on keeps the pivot's; among others' words with equal votes, the first seen wins."""
    ballots: list[dict[str, int]] = [{} for _ in pivot]
    for other in others:
        for slot, word in zip(ballots, align(pivot, other)):
            slot[word] = slot.get(word, 0) + 1
    out = []
    for word, slot in zip(pivot, ballots):
        # the pivot's own vote counts one and wins ties
        best, count = word, slot.get(word, 0) + 1
        for candidate, votes in slot.items():
            if candidate != word and votes > count:
                best, count = candidate, votes
        if best:
            out.append(best)
    return out


def parse_speed_vote(spec: str) -> SpeedVote:
    """``SPEED,SPEED:SEARCH[@sK,sK]`` (e.g. ``0.95,1.05:16@s0,s1``): the extra speeds, the prefixes each
    searches, and the scales that vote (default: every scale)."""
    try:
        body, at, scales_text = spec.partition("@")
        speeds_text, search_text = body.split(":", 1)
        speeds = tuple(float(s) for s in speeds_text.split(","))
        search = int(search_text)
        scales = None
        if at:
            if not all(name.startswith("s") for name in scales_text.split(",")):
                raise ValueError
            scales = tuple(int(name[1:]) for name in scales_text.split(","))
    except ValueError:
        raise ValueError(f"speed vote {spec!r}: expected SPEED,SPEED:SEARCH[@sK,sK], e.g. 0.95,1.05:16@s0,s1") from None
    vote_spec = SpeedVote(speeds, search, scales)
    check_speed_vote(vote_spec)
    return vote_spec


def check_speed_vote(vote_spec: SpeedVote, n_scales: int | None = None) -> None:
    speeds = vote_spec.speeds
    if not speeds or any(not (0.5 <= s <= 2.0) or s == 1.0 for s in speeds) or len(set(speeds)) != len(speeds):
        raise ValueError(f"speed vote speeds {speeds}: need distinct speeds in [0.5, 2], other than 1.0 (the pivot)")
    if vote_spec.search_beams < 1:
        raise ValueError(f"speed vote search {vote_spec.search_beams}: needs at least one prefix")
    scales = vote_spec.scales
    if scales is not None and (not scales or len(set(scales)) != len(scales) or min(scales) < 0
                               or (n_scales is not None and max(scales) >= n_scales)):
        raise ValueError(f"speed vote scales {scales}: need distinct scales of the model")
