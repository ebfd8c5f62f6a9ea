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

import numpy as np

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


def parse_speed_vote(spec: str) -> tuple[tuple[float, ...], int]:
    """``SPEED,SPEED:SEARCH`` (e.g. ``0.95,1.05:16``): the extra speeds and the prefixes each searches."""
    try:
        speeds_text, search_text = spec.split(":", 1)
        speeds = tuple(float(s) for s in speeds_text.split(","))
        search = int(search_text)
    except ValueError:
        raise ValueError(f"speed vote {spec!r}: expected SPEED,SPEED:SEARCH, e.g. 0.95,1.05:16") from None
    check_speed_vote(speeds, search)
    return speeds, search


def check_speed_vote(speeds: tuple[float, ...], search: int) -> None:
    if not speeds or any(not (0.5 <= s <= 2.0) or s == 1.0 for s in speeds) or len(set(speeds)) != len(speeds):
        raise ValueError(f"speed vote speeds {speeds}: need distinct speeds in [0.5, 2], other than 1.0 (the pivot)")
    if search < 1:
        raise ValueError(f"speed vote search {search}: needs at least one prefix")
