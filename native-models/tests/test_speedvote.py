"""The speed vote: resampling, word alignment and the vote itself, and the cases the engine's
electron/engine/speed-vote.ts is checked against (speed_vote_cases.json: regenerate with
``python3 -m tests.test_speedvote --write`` from native-models when the vote changes on purpose)."""

import json
import os
import sys
import unittest

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from nestcap_av.speedvote import SpeedVote, align, check_speed_vote, frames_at, parse_speed_vote, play_at, vote  # noqa: E402

CASES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "speed_vote_cases.json")
WORDS = ["the", "cat", "sat", "on", "a", "mat", "hat", "it's"]


def random_cases(seed: int = 7, count: int = 40) -> list[dict]:
    """Pivots with others that substitute, drop and add words at random, often the same rival's edits, so
    that majorities, ties and gaps all occur."""
    rng = np.random.default_rng(seed)

    def edited(pivot: list[str]) -> list[str]:
        other = []
        for word in pivot:
            roll = rng.random()
            if roll < 0.15:
                continue
            other.append(str(rng.choice(WORDS)) if roll < 0.45 else word)
            if rng.random() < 0.1:
                other.append(str(rng.choice(WORDS)))
        return other

    cases = []
    for _ in range(count):
        pivot = [str(w) for w in rng.choice(WORDS, rng.integers(0, 7))]
        rival = edited(pivot)
        others = [list(rival) if rng.random() < 0.5 else edited(pivot) for _ in range(rng.integers(1, 5))]
        cases.append({"pivot": pivot, "others": others})
    return cases


def build_cases() -> dict:
    hand = [
        {"pivot": ["a", "b", "c"], "others": [["a", "x", "c"], ["a", "x", "c"]]},  # two agree: replaced
        {"pivot": ["a", "b", "c"], "others": [["a", "x", "c"], ["a", "y", "c"]]},  # split: the pivot's stays
        {"pivot": ["a", "b", "c"], "others": [["a", "c"], ["a", "c"]]},  # both leave it out: dropped
        {"pivot": ["a", "b", "c"], "others": [["a", "x", "c"]]},  # one against one: the pivot wins the tie
        {"pivot": ["a", "c"], "others": [["a", "b", "c"], ["a", "b", "c"]]},  # an added word is never taken
        {"pivot": [], "others": [["a"]]},
        {"pivot": ["a"], "others": [[], []]},
    ]
    rng = np.random.default_rng(3)
    pcm = rng.uniform(-1, 1, 37).astype(np.float32)
    frames = np.arange(11 * 6, dtype=np.uint8).reshape(11, 2, 3)
    return {
        "votes": [{**c, "voted": vote(c["pivot"], c["others"]),
                   "aligned": [align(c["pivot"], o) for o in c["others"]]} for c in hand + random_cases()],
        "playback": [{"speed": s, "pcm": pcm.tolist(), "played": play_at(pcm, s).tolist(),
                      "frames": frames.reshape(11, -1).tolist(), "frames_played": frames_at(frames, s).reshape(-1, 6).tolist()}
                     for s in (0.9, 0.95, 1.05, 1.1, 1.16)],
    }


class SpeedVoteTest(unittest.TestCase):
    def test_the_vote_follows_the_majority_and_keeps_the_pivot_on_ties(self):
        self.assertEqual(vote(["a", "b", "c"], [["a", "x", "c"], ["a", "x", "c"]]), ["a", "x", "c"])
        self.assertEqual(vote(["a", "b", "c"], [["a", "x", "c"], ["a", "y", "c"]]), ["a", "b", "c"])
        self.assertEqual(vote(["a", "b", "c"], [["a", "c"], ["a", "c"], ["a", "b", "c"]]), ["a", "b", "c"])
        self.assertEqual(vote(["a", "b", "c"], [["a", "c"], ["a", "c"]]), ["a", "c"])

    def test_alignment_marks_left_out_words(self):
        self.assertEqual(align(["a", "b", "c"], ["a", "c"]), ["a", "", "c"])
        self.assertEqual(align(["a", "c"], ["a", "b", "c"]), ["a", "c"])
        self.assertEqual(align([], ["a"]), [])

    def test_playback_changes_the_length_and_keeps_the_samples(self):
        pcm = np.linspace(0, 1, 101, dtype=np.float32)
        faster = play_at(pcm, 1.25)
        self.assertEqual(len(faster), 80)
        np.testing.assert_allclose(faster, np.arange(80) * 1.25 / 100, atol=1e-6)  # a ramp stays a ramp
        self.assertIs(play_at(pcm, 1.0), pcm)
        frames = np.arange(10)[:, None, None] * np.ones((1, 2, 2))
        self.assertEqual(frames_at(frames, 0.8)[:, 0, 0].tolist(), [0, 1, 2, 2, 3, 4, 5, 6, 6, 7, 8, 9])

    def test_speed_vote_options_are_checked(self):
        self.assertEqual(parse_speed_vote("0.95,1.05:16"), SpeedVote((0.95, 1.05), 16, None))
        vote_spec = parse_speed_vote("0.95,1.05:16@s0,s1")
        self.assertEqual(vote_spec, SpeedVote((0.95, 1.05), 16, (0, 1)))
        self.assertEqual([vote_spec.votes_at(k) for k in range(4)], [True, True, False, False])
        self.assertEqual(vote_spec.to_json(), {"speeds": [0.95, 1.05], "search_beams": 16, "scales": ["s0", "s1"]})
        for bad in ("1.0,1.05:16", "0.95:0", "0.95,0.95:8", "3:8", "0.9", "a:b", "0.95:8@", "0.95:8@0", "0.95:8@s0,s0"):
            with self.assertRaises(ValueError, msg=bad):
                parse_speed_vote(bad)
        with self.assertRaises(ValueError):
            check_speed_vote(SpeedVote((), 8))
        with self.assertRaises(ValueError):
            check_speed_vote(SpeedVote((0.95,), 8, (4,)), 4)

    def test_the_engine_cases_are_this_vote(self):
        """The committed cases are what this implementation gives, so the engine's test checks the same vote."""
        with open(CASES, encoding="utf-8") as f:
            self.assertEqual(json.load(f), json.loads(json.dumps(build_cases())))


if __name__ == "__main__":
    if "--write" in sys.argv:
        with open(CASES, "w", encoding="utf-8") as f:
            json.dump(build_cases(), f)
    else:
        unittest.main()
