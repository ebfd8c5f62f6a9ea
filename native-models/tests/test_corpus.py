"""Generator tests: sentence source, splits, plan determinism, viseme rendering, end-to-end determinism."""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from dataclasses import replace

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from nestcap_av import corpus, render, tts  # noqa: E402
from nestcap_av.config import CorpusConfig, to_dict  # noqa: E402


class SentenceTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cfg = CorpusConfig()
        cls.sentences = corpus.load_sentences(cls.cfg)

    def test_normalise(self):
        self.assertEqual(corpus.normalise("Don't PANIC -- it's 'fine', OK?"), "don't panic it's fine ok")

    def test_sentences_respect_length_limits(self):
        self.assertGreater(len(self.sentences), 1000)
        for _, tr in self.sentences:
            n = len(tr.split())
            self.assertTrue(self.cfg.min_words <= n <= self.cfg.max_words, tr)
            self.assertLessEqual(len(tr), self.cfg.max_chars)
            self.assertRegex(tr, r"^[a-z' ]+$")

    def test_eval_sentences_never_in_training_plan(self):
        plans = corpus.plan_jobs(CorpusConfig(n_train=400, n_eval_seen=50, n_eval_heldout=50), self.sentences)
        train = {j["transcript"] for j in plans["train"]}
        evals = {j["transcript"] for j in plans["eval_seen"] + plans["eval_heldout"]}
        self.assertFalse(train & evals)

    def test_an_extra_split_leaves_the_other_plans_as_they_were(self):
        extra = [("The cat sat on the mat", "the cat sat on the mat"), ("A dog barked twice", "a dog barked twice")]
        base = CorpusConfig(n_train=40, n_eval_seen=10, n_eval_heldout=10)
        plain = corpus.plan_jobs(base, self.sentences)
        with_extra = corpus.plan_jobs(CorpusConfig(n_train=40, n_eval_seen=10, n_eval_heldout=10, n_train_extra=6),
                                      self.sentences, extra)
        self.assertEqual({k: v for k, v in with_extra.items() if k != "train_extra"}, plain)
        self.assertEqual(len(with_extra["train_extra"]), 6)
        self.assertLessEqual({j["transcript"] for j in with_extra["train_extra"]}, {tr for _, tr in extra})
        self.assertEqual({j["family"] for j in with_extra["train_extra"]} - set(base.train_families), set())

    def test_the_voices_split_speaks_training_sentences_in_its_own_voices_and_changes_no_other_plan(self):
        base = CorpusConfig(n_train=40, n_eval_seen=10, n_eval_heldout=10)
        plain = corpus.plan_jobs(base, self.sentences)
        with_voices = corpus.plan_jobs(CorpusConfig(n_train=40, n_eval_seen=10, n_eval_heldout=10, n_train_voices=12,
                                                    train_voice_names=("ked_diphone",)), self.sentences)
        self.assertEqual({k: v for k, v in with_voices.items() if k != "train_voices"}, plain)
        jobs = with_voices["train_voices"]
        self.assertEqual(len(jobs), 12)
        self.assertEqual({(j["family"], j["voice"]) for j in jobs}, {("festival", "ked_diphone")})
        self.assertFalse({j["transcript"] for j in jobs} & {j["transcript"] for j in plain["eval_seen"] + plain["eval_heldout"]})
        self.assertFalse(any(corpus.is_eval_sentence(j["transcript"], base.eval_fraction) for j in jobs))

    def test_the_accents_split_speaks_training_sentences_in_accent_voices_and_changes_no_other_plan(self):
        base = CorpusConfig(n_train=40, n_eval_seen=10, n_eval_heldout=10)
        plain = corpus.plan_jobs(base, self.sentences)
        with_accents = corpus.plan_jobs(CorpusConfig(n_train=40, n_eval_seen=10, n_eval_heldout=10, n_train_accents=30),
                                        self.sentences)
        self.assertEqual({k: v for k, v in with_accents.items() if k != "train_accents"}, plain)
        jobs = with_accents["train_accents"]
        self.assertEqual({j["family"] for j in jobs}, {"accent"})
        self.assertLessEqual({j["voice"] for j in jobs}, set(tts.ACCENT_VOICES))
        self.assertGreater(len({j["voice"] for j in jobs}), 5)
        self.assertTrue(all(0.85 <= j["f0_factor"] <= 1.2 and 0.85 <= j["stretch"] <= 1.2 for j in jobs))
        self.assertFalse(any(corpus.is_eval_sentence(j["transcript"], base.eval_fraction) for j in jobs))

    def test_the_voices_split_refuses_to_speak_the_heldout_family(self):
        with self.assertRaisesRegex(SystemExit, "held-out family"):
            corpus.plan_jobs(CorpusConfig(n_train=4, n_eval_seen=2, n_eval_heldout=2, n_train_voices=2,
                                          heldout_family="festival", train_families=("espeak", "flite")), self.sentences)

    def test_a_split_is_added_only_to_a_corpus_made_with_the_same_plan(self):
        with tempfile.TemporaryDirectory() as d:
            with self.assertRaisesRegex(SystemExit, "no manifest.json"):
                corpus._existing_manifest(d, CorpusConfig(n_train_voices=2), ("train_voices",))
            with open(os.path.join(d, "manifest.json"), "w", encoding="utf-8") as f:
                json.dump({"config": {**to_dict(CorpusConfig(n_train=10000)), "n_train_voices": 0}, "splits": {}}, f)
            with self.assertRaisesRegex(SystemExit, "n_train=10000"):
                corpus._existing_manifest(d, CorpusConfig(n_train=6000, n_train_voices=2), ("train_voices",))
            stats = corpus._existing_manifest(d, CorpusConfig(n_train=10000, n_train_voices=2), ("train_voices",))
            self.assertEqual(stats["config"]["n_train_voices"], 2)
            self.assertEqual(stats["config"]["n_train"], 10000)
            with self.assertRaisesRegex(SystemExit, "--splits train_voices needs --n-train-voices N"):
                corpus.generate(CorpusConfig(n_train=10000), d, splits=("train_voices",))
            with self.assertRaisesRegex(SystemExit, "not train"):
                corpus.generate(CorpusConfig(n_train=10000), d, splits=("train",))

    def test_installed_festival_voices_are_the_voice_folders(self):
        with tempfile.TemporaryDirectory() as d:
            os.makedirs(os.path.join(d, "english", "kal_diphone"))
            os.makedirs(os.path.join(d, "us", "cmu_us_slt_arctic_hts"))
            open(os.path.join(d, "us", "README"), "w").close()
            self.assertEqual(tts.installed_festival_voices(d), ["cmu_us_slt_arctic_hts", "kal_diphone"])

    def test_wordnet_examples_are_filtered_like_the_fortunes_and_skip_the_evaluation_share(self):
        cfg = CorpusConfig()
        evaluation = next(tr for _, tr in self.sentences if corpus.is_eval_sentence(tr, cfg.eval_fraction))
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "data.noun"), "w", encoding="latin-1") as f:
                f.write("  1 This software and database is being provided\n")
                f.write('00001740 03 n 01 entity 0 | that which exists; "the cat slept on the warm mat"; '
                        '"too short"; "numbers like 42 are out"; "' + evaluation + '"\n')
                f.write('00001741 03 n 01 thing 0 | no examples at all\n')
            found = corpus.load_wordnet_examples(cfg, d)
        self.assertEqual(found, [("the cat slept on the warm mat", "the cat slept on the warm mat")])

    def test_wordnet_is_required_only_for_the_extra_split(self):
        with tempfile.TemporaryDirectory() as d, self.assertRaisesRegex(SystemExit, "wordnet-base"):
            corpus.load_wordnet_examples(CorpusConfig(), d)

    def test_heldout_family_only_in_heldout_split(self):
        plans = corpus.plan_jobs(CorpusConfig(n_train=400, n_eval_seen=50, n_eval_heldout=50), self.sentences)
        self.assertNotIn("flite", {j["family"] for j in plans["train"] + plans["eval_seen"]})
        self.assertEqual({j["family"] for j in plans["eval_heldout"]}, {"flite"})
        self.assertEqual({j["family"] for j in plans["train"]}, {"espeak", "festival"})

    def test_plan_is_deterministic_by_seed(self):
        a = corpus.plan_jobs(CorpusConfig(n_train=100, seed=3), self.sentences)
        b = corpus.plan_jobs(CorpusConfig(n_train=100, seed=3), self.sentences)
        c = corpus.plan_jobs(CorpusConfig(n_train=100, seed=4), self.sentences)
        self.assertEqual(a, b)
        self.assertNotEqual(a["train"], c["train"])


class RenderTests(unittest.TestCase):
    def test_viseme_mapping_covers_both_phone_sets(self):
        self.assertEqual(render.viseme_of("m"), "pbm")
        self.assertEqual(render.viseme_of("uw"), "w")
        self.assertEqual(render.viseme_of("aI"), "open")
        self.assertEqual(render.viseme_of("pau"), "sil")
        self.assertEqual(render.viseme_of("tS"), "post")

    def test_viseme_labels_name_the_shape_each_frame_shows(self):
        phones = [("pau", 0.0, 0.1), ("m", 0.1, 0.3), ("aa", 0.3, 0.5)]
        labels = render.viseme_labels(phones, 15, lead_s=0.0)  # frame t shows (t + 0.5) / 25 s
        names = [render.VISEME_CLASSES[k] for k in labels]
        self.assertEqual(names[:2], ["sil", "sil"])
        self.assertEqual(names[3:7], ["pbm"] * 4)
        self.assertEqual(names[8:12], ["open"] * 4)
        self.assertEqual(names[13:], ["sil", "sil"])  # after the last phone
        led = [render.VISEME_CLASSES[k] for k in render.viseme_labels(phones, 15, lead_s=0.04)]
        self.assertEqual(led.index("pbm"), names.index("pbm") - 1)  # video leads audio by a frame

    def test_open_vowel_renders_a_darker_mouth_than_a_bilabial(self):
        rng = np.random.default_rng(0)
        phones = [("m", 0.0, 0.4), ("aa", 0.4, 0.8)]
        track = render.viseme_tracks(phones, 20, rng, lead_s=0.0)
        self.assertEqual(track.shape, (20, 5))
        self.assertLess(track[4, 0], 0.15)  # lips closed during /m/
        self.assertGreater(track[15, 0], 0.5)  # jaw open during /aa/
        video = render.render(track, 32, np.random.default_rng(1))
        self.assertEqual(video.shape, (20, 32, 32))
        self.assertEqual(video.dtype, np.uint8)
        centre = video[:, 12:20, 8:24].astype(float).mean(axis=(1, 2))
        self.assertLess(centre[15], centre[4])


class AccentTests(unittest.TestCase):
    ENGLISH = ["pau", "aa", "ae", "ah", "ao", "aw", "ax", "ay", "b", "ch", "d", "dh", "eh", "er", "ey", "f", "g", "hh",
               "ih", "iy", "jh", "k", "l", "m", "n", "ng", "ow", "oy", "p", "r", "s", "sh", "t", "th", "uh", "uw",
               "v", "w", "y", "z", "zh"]

    def test_every_english_phone_maps_into_each_voice_phone_set(self):
        with tempfile.TemporaryDirectory() as d:
            script = os.path.join(d, "phones.scm")
            voices = {language: voice for voice, (language, _, _) in tts.ACCENT_VOICES.items()}
            with open(script, "w", encoding="utf-8") as f:
                for language, voice in voices.items():
                    f.write(f"(voice_{voice})\n(format t \"{language} %l\\n\" "
                            "(mapcar car (car (cdr (assoc 'phones (PhoneSet.description '(phones)))))))\n")
            out = subprocess.run(["festival", "-b", script], check=True, capture_output=True, text=True).stdout
        phone_sets = {line.split(" ", 1)[0]: set(line.split(" ", 1)[1].strip("() \n").split()) for line in out.splitlines()
                      if line.split(" ", 1)[0] in voices}
        self.assertEqual(set(phone_sets), set(voices))
        for voice, (language, pause, _) in tts.ACCENT_VOICES.items():
            self.assertIn(pause, phone_sets[language], voice)
        for language, phone_map in tts.ACCENT_PHONE_MAPS.items():
            self.assertEqual(set(phone_map), set(self.ENGLISH) - {"pau"}, language)
            for english, phones in phone_map.items():
                self.assertTrue(phones, (language, english))
                self.assertLessEqual(set(phones), phone_sets[language], (language, english))
        for language, stressed in tts.ACCENT_STRESSED_PHONES.items():
            self.assertLessEqual(set(stressed.values()), phone_sets[language], language)

    def test_the_default_accent_voices_are_the_diphone_ones_run_q_trained_on(self):
        self.assertEqual(CorpusConfig().accent_voice_names, tts.DIPHONE_ACCENT_VOICES)
        self.assertEqual(len(tts.DIPHONE_ACCENT_VOICES), 10)
        self.assertNotIn("upc_ca_ona_hts", tts.DIPHONE_ACCENT_VOICES)
        with self.assertRaisesRegex(SystemExit, "no_such_voice"):
            corpus.plan_jobs(CorpusConfig(n_train=4, n_train_accents=2, accent_voice_names=("no_such_voice",)),
                             [("A short sentence here.", "a short sentence here")] * 40)

    def test_the_hts_voice_says_words_of_mapped_syllables_with_the_english_stress(self):
        # kal's reading of "judge the weather": segment, word id, syllable id, stressed
        reading = [("pau", "0", "0", False), ("jh", "_5", "_13", True), ("ah", "_5", "_13", True),
                   ("jh", "_5", "_13", True), ("dh", "_6", "_17", False), ("ax", "_6", "_17", False),
                   ("w", "_7", "_20", True), ("eh", "_7", "_20", True), ("dh", "_7", "_23", False),
                   ("er", "_7", "_23", False), ("pau", "0", "0", False)]
        words, owner = tts.hts_words(reading, "upc_ca_ona_hts")
        self.assertEqual(words, [[(["d", "Z", "a1", "d", "Z"], True)], [(["d", "ax"], False)],
                                 [(["w", "E1"], True), (["d", "ax", "r"], False)]])
        self.assertEqual(owner, [1, 1, 2, 3, 3, 4, 5, 6, 7, 8, 9, 9])
        # what the voice said, its own pauses included, read back onto the English phones
        said = [("pau", 0.0, 0.3)] + [(p, 0.3 + 0.1 * k, 0.4 + 0.1 * k) for k, p in
                                      enumerate(["d", "Z", "a1", "d", "Z", "d", "ax", "w", "E1", "d", "ax", "r"])]
        said.append(("pau", 1.5, 1.8))
        times = tts.hts_english_times(reading, owner, said)
        self.assertEqual([t[0] for t in times], ["pau", "jh", "ah", "jh", "dh", "ax", "w", "eh", "dh", "er", "pau"])
        self.assertAlmostEqual(times[1][1], 0.3)
        self.assertAlmostEqual(times[1][2], 0.5)  # "jh" spans d and Z
        self.assertAlmostEqual(times[-2][2], 1.5)
        with self.assertRaisesRegex(RuntimeError, "said 11 segments of the 12"):
            tts.hts_english_times(reading, owner, said[:-2] + said[-1:])

    def test_mapped_segments_keep_the_english_timing_and_scale_the_pitch(self):
        english = [("pau", 0.0, 0.2, []), ("ay", 0.2, 0.4, [(0.25, 100.0), (0.35, 120.0)]), ("pau", 0.4, 0.5, [])]
        segments, owner = tts.accented_segments(english, "lp_diphone", 1.1)
        self.assertEqual([s[0] for s in segments], ["#", "a", "i", "#"])
        self.assertEqual(owner, [0, 1, 1, 2])
        self.assertAlmostEqual(sum(s[1] for s in segments), 0.5, places=3)
        self.assertEqual(segments[1][2], [(0.05, round(100 * 1.75 * 1.1, 1))])  # from its own start
        self.assertEqual(segments[2][2], [(0.05, round(120 * 1.75 * 1.1, 1))])
        # what the voice said, read back onto the English phones: the diphthong spans both of its segments
        self.assertEqual(tts.english_times(english, owner, [0.21, 0.3, 0.42, 0.55]),
                         [("pau", 0.0, 0.21), ("ay", 0.21, 0.42), ("pau", 0.42, 0.55)])
        with self.assertRaisesRegex(RuntimeError, "said 3 segments of the 4"):
            tts.english_times(english, owner, [0.2, 0.4, 0.5])

    def test_each_language_says_a_sentence_timed_by_its_english_phones(self):
        voices = {language: voice for voice, (language, _, _) in tts.ACCENT_VOICES.items()}
        jobs = [("Judge the weather by the sky at noon.", voice, 1.0, 1.0) for voice in voices.values()]
        with tempfile.TemporaryDirectory() as d:
            results = tts.accented_batch(jobs, d)
            english = tts.festival_batch([(jobs[0][0], "kal_diphone", 1.0)], d)[0][1]
        for (_, voice, _, _), (pcm, phones) in zip(jobs, results):
            # an HTS voice pauses where it phrases, so only the spoken phones are the reading's
            names = lambda ps: [p[0] for p in ps if voice not in tts.HTS_ACCENT_VOICES or p[0] != "pau"]  # noqa: E731
            self.assertEqual(names(phones), names(english), voice)
            starts, ends = np.array([p[1] for p in phones]), np.array([p[2] for p in phones])
            self.assertTrue(np.all(ends > starts) and np.allclose(starts[1:], ends[:-1]), voice)
            self.assertAlmostEqual(ends[-1], len(pcm) / tts.SR, delta=0.05, msg=voice)
            speech = pcm[int(phones[1][1] * tts.SR):int(phones[-1][1] * tts.SR)]
            self.assertGreater(float(np.sqrt(np.mean(speech ** 2))), 0.01, voice)


class GenerateTests(unittest.TestCase):
    def test_tiny_corpus_is_deterministic_and_reports_size_and_time(self):
        cfg = CorpusConfig(n_train=6, n_eval_seen=3, n_eval_heldout=3, workers=1, seed=11)
        digests = []
        for _ in range(2):
            with tempfile.TemporaryDirectory() as d:
                stats = corpus.generate(cfg, d, log=lambda *_: None)
                self.assertEqual(stats["splits"]["train"]["utterances"], 6)
                self.assertGreater(stats["bytes_total"], 0)
                self.assertIn("seconds_total", stats)
                self.assertIn("espeak-ng", stats["splits"]["eval_seen"]["tts_versions"])
                self.assertIn("flite", stats["splits"]["eval_heldout"]["tts_versions"])
                h = hashlib.sha256()
                for split in ("train", "eval_seen", "eval_heldout"):
                    for name in ("audio.i16", "video.u8", "index.jsonl"):
                        with open(os.path.join(d, split, name), "rb") as f:
                            h.update(f.read())
                digests.append(h.hexdigest())
        self.assertEqual(digests[0], digests[1])

    def test_an_added_split_goes_on_from_a_smaller_or_killed_run_to_the_same_bytes(self):
        base = CorpusConfig(n_train=3, n_eval_seen=2, n_eval_heldout=2, workers=1, seed=5)
        quiet = lambda *_: None  # noqa: E731
        with tempfile.TemporaryDirectory() as d:
            fresh, resumed = os.path.join(d, "fresh"), os.path.join(d, "resumed")
            corpus.generate(base, fresh, log=quiet)
            shutil.copytree(fresh, resumed)
            corpus.generate(replace(base, n_train_voices=30), fresh, log=quiet, splits=("train_voices",))
            corpus.generate(replace(base, n_train_voices=26), resumed, log=quiet, splits=("train_voices",))
            with open(os.path.join(resumed, "train_voices", "audio.i16"), "r+b") as f:
                f.truncate(os.path.getsize(f.name) - 100)  # as a run killed while writing the last utterance
            lines: list[str] = []
            stats = corpus.generate(replace(base, n_train_voices=30), resumed, log=lines.append,
                                    splits=("train_voices",))
            self.assertIn("[corpus] train_voices: the first 24 utterances were written before; going on from there",
                          lines)
            self.assertEqual(stats["splits"]["train_voices"]["utterances_written_before"], 24)
            for name in ("audio.i16", "video.u8", "index.jsonl"):
                with open(os.path.join(fresh, "train_voices", name), "rb") as a, \
                        open(os.path.join(resumed, "train_voices", name), "rb") as b:
                    self.assertEqual(a.read(), b.read(), name)


if __name__ == "__main__":
    unittest.main()
