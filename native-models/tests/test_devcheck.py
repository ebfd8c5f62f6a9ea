"""The development check's counting and table."""

import unittest

from nestcap_av.devcheck import ErrorCounts, table


class DevcheckTest(unittest.TestCase):
    def test_counts_characters_and_words_over_the_set(self):
        counts = ErrorCounts()
        counts.add("the cat", "the bat")
        counts.add("a dog", "a dog")
        self.assertEqual(counts.cell(), f"{100 / 12:.1f} / 25.0")

    def test_a_row_a_range_lacks_is_a_dash(self):
        seen, heldout = ErrorCounts(), ErrorCounts()
        seen.add("one", "one")
        heldout.add("two", "too")
        lines = table({"seen": {"video, clean": seen, "audio, clean": seen}, "held-out": {"audio, clean": heldout}})
        self.assertEqual(lines[0], "| head, condition | seen | held-out |")
        self.assertIn("| video, clean | 0.0 / 0.0 | – |", lines)
        self.assertIn("| audio, clean | 0.0 / 0.0 | 33.3 / 100.0 |", lines)


if __name__ == "__main__":
    unittest.main()
