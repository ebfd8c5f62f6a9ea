"""Voice augmentation: speed perturbation, vocal tract length (formant) warping, random channel, silence
around the speech, SpecAugment masks and family oversampling."""

import unittest

import numpy as np
import torch

from nestcap_av.config import SAMPLE_RATE, TrainConfig
from nestcap_av.data import (
    TrainingSet,
    family_weights,
    formant_warp,
    pad_silence,
    random_channel,
    sample_indices,
    spec_augment,
    speed_perturb,
    voice_perturbation,
)
from nestcap_av.train import snr_choices_from, snr_text


def tone(freq: float, seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def peak_frequency(x: np.ndarray) -> float:
    spec = np.abs(np.fft.rfft(x))
    return float(np.fft.rfftfreq(len(x), 1.0 / SAMPLE_RATE)[int(np.argmax(spec))])


class FakeSplit:
    def __init__(self, families: list[str]):
        self.rows = [{"family": f} for f in families]


class VoiceAugmentationTest(unittest.TestCase):
    def test_faster_speech_is_shorter_and_higher_and_the_video_keeps_pace(self):
        x = tone(440.0, 2.0)
        frames = np.arange(50, dtype=np.uint8)[:, None, None].repeat(4, 1).repeat(4, 2)
        y, v = speed_perturb(x, frames, 1.1)
        self.assertAlmostEqual(len(y), len(x) / 1.1, delta=2)
        self.assertAlmostEqual(peak_frequency(y), 484.0, delta=2.0)
        self.assertEqual(v.shape[0], round(50 / 1.1))
        self.assertEqual(int(v[-1, 0, 0]), int(round((v.shape[0] - 1) * 1.1)))  # last frame still near the end
        self.assertTrue(np.all(np.diff(v[:, 0, 0].astype(int)) >= 1))

    def test_a_low_pass_channel_removes_what_lies_above_its_cutoff(self):
        x = tone(7800.0, 1.0) + tone(500.0, 1.0)
        found_low_pass = False
        for seed in range(20):
            y = random_channel(np.random.default_rng(seed), x)
            self.assertEqual(len(y), len(x))
            high = np.abs(np.fft.rfft(y))[7800]  # 1 s of audio: bin k is k Hz
            low = np.abs(np.fft.rfft(y))[500]
            if high < low * 1e-2:
                found_low_pass = True
            self.assertGreater(low, 0.1 * np.abs(np.fft.rfft(x))[500])  # the speech band survives every draw
        self.assertTrue(found_low_pass)
        a = random_channel(np.random.default_rng(3), x)
        self.assertTrue(np.array_equal(a, random_channel(np.random.default_rng(3), x)))

    def test_spec_augment_masks_a_copy_within_its_limits(self):
        mel = torch.ones(2, 200, 64)
        out = spec_augment(mel, np.random.default_rng(0), max_freq=8, max_time=10)
        self.assertEqual(out.shape, mel.shape)
        self.assertTrue(torch.all(mel == 1))
        zero_bands = (out[0] == 0).all(dim=0).sum().item()
        zero_frames = (out[0] == 0).all(dim=1).sum().item()
        self.assertLessEqual(zero_bands, 16)
        self.assertLessEqual(zero_frames, 20)
        self.assertGreater((out == 0).sum().item(), 0)

    def test_family_boost_oversamples_and_no_boost_keeps_uniform_sampling(self):
        split = FakeSplit(["espeak"] * 3 + ["festival"])
        self.assertIsNone(family_weights(split, {}))
        w = family_weights(split, {"festival": 3.0})
        self.assertAlmostEqual(float(w[3]), 0.5)
        idx = sample_indices(np.random.default_rng(0), 4, 4000, w)
        self.assertAlmostEqual(float(np.mean(idx == 3)), 0.5, delta=0.04)
        self.assertTrue(np.array_equal(sample_indices(np.random.default_rng(1), 4, 8, None),
                                       np.random.default_rng(1).integers(0, 4, 8)))

    def test_without_voice_augmentation_nothing_is_drawn(self):
        rng = np.random.default_rng(5)
        self.assertEqual(voice_perturbation(rng, TrainConfig()), (1.0, False, (0.0, 0.0), 1.0))
        self.assertEqual(rng.random(), np.random.default_rng(5).random())
        speed, _, _, _ = voice_perturbation(np.random.default_rng(5), TrainConfig(p_speed=1.0, speed_range=(0.9, 0.95)))
        self.assertTrue(0.9 <= speed <= 0.95)

    def test_formant_warp_moves_the_spectrum_at_the_same_tempo(self):
        x = tone(1000.0, 1.0) + 0.5 * tone(230.0, 1.0)
        for alpha in (0.9, 1.1):
            y = formant_warp(x, alpha)
            self.assertEqual(len(y), len(x))
            self.assertAlmostEqual(peak_frequency(y), 1000.0 * alpha, delta=5.0)
            # one steady partial, not frames that cancel: the energy stays within 15%
            self.assertAlmostEqual(float(np.sqrt(np.mean(y ** 2) / np.mean(x ** 2))), 1.0, delta=0.15)
        self.assertIs(formant_warp(x, 1.0), x)

    def test_formant_warp_draws_within_its_range_after_the_other_augmentations(self):
        cfg = TrainConfig(p_pad=1.0, p_formant=1.0, formant_range=(0.92, 0.96))
        draws = [voice_perturbation(np.random.default_rng(s), cfg) for s in range(30)]
        self.assertTrue(all(0.92 <= d[3] <= 0.96 for d in draws))
        # the pads drawn before it are those a run without formant warping draws
        no_warp = TrainConfig(p_pad=1.0)
        self.assertEqual([d[2] for d in draws], [voice_perturbation(np.random.default_rng(s), no_warp)[2] for s in range(30)])

    def test_silence_pads_both_streams_by_whole_frames_and_holds_the_edge_frames(self):
        x = tone(300.0, 0.4)
        frames = np.arange(10, dtype=np.uint8)[:, None, None].repeat(4, 1).repeat(4, 2)
        y, v = pad_silence(x, frames, 0.12, 0.2)  # 3 and 5 frames at 25 fps
        per_frame = SAMPLE_RATE // 25
        self.assertEqual(len(y), len(x) + 8 * per_frame)
        self.assertEqual(v.shape[0], frames.shape[0] + 8)
        self.assertFalse(np.any(y[:3 * per_frame]) or np.any(y[-5 * per_frame:]))
        self.assertTrue(np.array_equal(y[3 * per_frame:3 * per_frame + len(x)], x))
        self.assertTrue(np.all(v[:3] == 0) and np.all(v[-5:] == 9))
        self.assertTrue(np.array_equal(v[3:13], frames))

    def test_viseme_labels_follow_the_video_through_speed_and_padding(self):
        from nestcap_av.data import collate, make_example
        from nestcap_av.render import VISEME_CLASSES

        class OneUtterance:  # 2 s: /m/ for the first second, /aa/ for the second; frame t is all t
            rows = [{"transcript": "ma", "phones": [["m", 0.0, 1.0], ["aa", 1.0, 2.0]]}]

            def pcm(self, i):
                return tone(200.0, 2.0)

            def frames(self, i):
                return np.arange(50, dtype=np.uint8)[:, None, None].repeat(4, 1).repeat(4, 2)

        plain = make_example(OneUtterance(), 0, np.random.default_rng(0), "vsr", None, "white", False, "ok")
        both = make_example(OneUtterance(), 0, np.random.default_rng(0), "vsr", None, "white", False, "ok",
                            speed=1.25, pad=(0.2, 0.12))
        for e in (plain, both):
            self.assertEqual(len(e["visemes"]), e["frames"].shape[0])
            shown = e["frames"][:, 0, 0].astype(int)  # which original frame each output frame is
            self.assertTrue(np.array_equal(e["visemes"], plain["visemes"][shown]))
        self.assertEqual(both["frames"].shape[0], 5 + 40 + 3)
        self.assertEqual(VISEME_CLASSES[int(both["visemes"][0])], "pbm")  # the held first frame keeps its shape
        batch = collate([plain, both])
        self.assertEqual(tuple(batch["visemes"].shape), (2, 50))
        self.assertTrue(torch.all(batch["visemes"][1, 48:] == -100) and torch.all(batch["visemes"][1, :48] >= 0))

    def test_padding_draws_each_side_within_its_range(self):
        sides = [voice_perturbation(np.random.default_rng(s), TrainConfig(p_pad=1.0, pad_max=0.3))[2] for s in range(50)]
        self.assertTrue(all(0.0 <= a <= 0.3 and 0.0 <= b <= 0.3 for a, b in sides))
        self.assertGreater(len({a for a, _ in sides}), 40)


class FakeAudioSplit:
    def __init__(self, values: list[float]):
        self.rows = [{"transcript": f"utterance {v:g}"} for v in values]
        self.values = values

    def __len__(self) -> int:
        return len(self.rows)

    def pcm(self, i: int) -> np.ndarray:
        return np.full(4, self.values[i], np.float32)

    def frames(self, i: int) -> np.ndarray:
        return np.full((1, 2, 2), int(self.values[i]), np.uint8)


class TrainingSetTest(unittest.TestCase):
    def test_splits_read_as_one_in_order(self):
        both = TrainingSet([FakeAudioSplit([1.0, 2.0, 3.0]), FakeAudioSplit([10.0, 20.0])])
        self.assertEqual(len(both), 5)
        self.assertEqual([float(both.pcm(i)[0]) for i in range(5)], [1.0, 2.0, 3.0, 10.0, 20.0])
        self.assertEqual(int(both.frames(3)[0, 0, 0]), 10)
        self.assertEqual(both.rows[4]["transcript"], "utterance 20")


class NoisePolicyOptionTest(unittest.TestCase):
    def test_snr_list_reads_numbers_and_clean_and_the_default_round_trips(self):
        self.assertEqual(snr_choices_from("clean, 20,-5"), (None, 20.0, -5.0))
        self.assertEqual(snr_choices_from(snr_text(TrainConfig.snr_choices)), TrainConfig.snr_choices)

    def test_a_misspelt_snr_is_refused_by_name(self):
        with self.assertRaisesRegex(SystemExit, "'cleen'"):
            snr_choices_from("cleen,10")


if __name__ == "__main__":
    unittest.main()
