"""Video augmentation: mirrored, moved and relit mouth crops, drawn only when the option is on."""

import unittest

import numpy as np

from nestcap_av.config import TrainConfig
from nestcap_av.data import VideoJitter, jitter_video, make_example, video_augmentation


def dot_clip(y: int, x: int, frames: int = 3, size: int = 8) -> np.ndarray:
    v = np.full((frames, size, size), 100, np.uint8)
    v[:, y, x] = 200
    return v


class VideoJitterTest(unittest.TestCase):
    def test_no_change_leaves_the_clip_as_it_was(self):
        v = np.random.default_rng(0).integers(0, 256, (4, 8, 8)).astype(np.uint8)
        out = jitter_video(v, VideoJitter())
        np.testing.assert_array_equal(out, v)
        self.assertEqual(out.dtype, np.uint8)

    def test_mirroring_moves_a_point_to_the_other_side(self):
        out = jitter_video(dot_clip(2, 1), VideoJitter(flip=True))
        self.assertEqual(tuple(np.argwhere(out[0] == 200)[0]), (2, 6))

    def test_a_move_carries_the_content_and_holds_the_edges(self):
        out = jitter_video(dot_clip(2, 3), VideoJitter(dy=2, dx=-1))
        self.assertEqual([tuple(p) for p in np.argwhere(out[1] == 200)], [(4, 2)])
        # a bright column at the left edge moved right is held: the new left columns repeat it
        v = np.full((1, 6, 6), 50, np.uint8)
        v[:, :, 0] = 250
        out = jitter_video(v, VideoJitter(dx=2))
        self.assertTrue((out[0, :, :3] == 250).all())
        self.assertTrue((out[0, :, 3:] == 50).all())

    def test_contrast_scales_about_the_mean_and_brightness_adds_within_the_grey_range(self):
        v = np.array([[[90, 110]]], np.uint8)
        np.testing.assert_array_equal(jitter_video(v, VideoJitter(gain=2.0)), [[[80, 120]]])
        np.testing.assert_array_equal(jitter_video(v, VideoJitter(offset=-100.0)), [[[0, 10]]])
        np.testing.assert_array_equal(jitter_video(v, VideoJitter(gain=20.0)), [[[0, 255]]])

    def test_an_empty_clip_stays_empty(self):
        self.assertEqual(jitter_video(np.zeros((0, 8, 8), np.uint8), VideoJitter(flip=True, dy=1)).shape, (0, 8, 8))


class VideoAugmentationPolicyTest(unittest.TestCase):
    def test_off_draws_nothing(self):
        rng = np.random.default_rng(3)
        self.assertIsNone(video_augmentation(rng, TrainConfig()))
        self.assertEqual(rng.random(), np.random.default_rng(3).random())

    def test_on_draws_within_the_configured_ranges(self):
        tc = TrainConfig(p_video_aug=1.0, video_shift_max=1, video_gain_range=(0.9, 1.1), video_offset_max=5.0)
        rng = np.random.default_rng(4)
        jitters = [video_augmentation(rng, tc) for _ in range(200)]
        self.assertTrue(all(j is not None for j in jitters))
        self.assertEqual({j.dy for j in jitters} | {j.dx for j in jitters}, {-1, 0, 1})
        self.assertEqual({j.flip for j in jitters}, {False, True})
        self.assertTrue(all(0.9 <= j.gain <= 1.1 and -5.0 <= j.offset <= 5.0 for j in jitters))

    def test_the_share_of_jittered_clips_follows_the_option(self):
        rng = np.random.default_rng(5)
        drawn = [video_augmentation(rng, TrainConfig(p_video_aug=0.3)) for _ in range(2000)]
        self.assertAlmostEqual(sum(j is not None for j in drawn) / len(drawn), 0.3, delta=0.04)


class OneClip:
    """A one-second utterance whose frame t is filled with grey level t * 10 and a dot at the top left."""

    def __init__(self):
        self.rows = [{"transcript": "a", "phones": None}]

    def pcm(self, _i: int) -> np.ndarray:
        return np.zeros(16000, np.float32)

    def frames(self, _i: int) -> np.ndarray:
        v = np.repeat((np.arange(25, dtype=np.uint8) * 10)[:, None, None], 8, axis=1).repeat(8, axis=2)
        v[:, 0, 0] = 255
        return v


class MakeExampleTest(unittest.TestCase):
    def test_the_jitter_reaches_every_frame_and_keeps_their_order(self):
        plain = make_example(OneClip(), 0, np.random.default_rng(0), "vsr", None, "white", False, "ok")
        mirrored = make_example(OneClip(), 0, np.random.default_rng(0), "vsr", None, "white", False, "ok",
                                video_jitter=VideoJitter(flip=True))
        self.assertEqual(mirrored["frames"].shape, plain["frames"].shape)
        np.testing.assert_array_equal(mirrored["frames"], plain["frames"][:, :, ::-1])
        self.assertTrue((mirrored["frames"][:, 0, 7] == 255).all())


if __name__ == "__main__":
    unittest.main()
