"""Model tests: shapes per scale, LoRA variants, KV cache, sequence layout, training options."""

import os
import sys
import unittest

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from nestcap_av.config import ModelConfig, TrainConfig  # noqa: E402
from nestcap_av.data import CharTokenizer, build_sequences  # noqa: E402
from nestcap_av.model import AVModel, compress  # noqa: E402
from nestcap_av.train import av_losses, identity_start_added_blocks, without_resized  # noqa: E402

torch.set_num_threads(2)


def tiny(**kw) -> ModelConfig:
    cfg = ModelConfig(vocab_size=len(CharTokenizer()), audio_dim=32, video_dim=32, lm_dim=64, lm_ff=128, lm_layers=2,
                      lora_rank=4, audio_layers=1, video_layers=1)
    for k, v in kw.items():
        setattr(cfg, k, v)
    return cfg


class ShapeTests(unittest.TestCase):
    def test_token_counts_per_scale(self):
        torch.manual_seed(0)
        m = AVModel(tiny()).eval()
        seconds = 2.0
        pcm = torch.randn(1, int(16000 * seconds)) * 0.1
        frames = torch.rand(1, int(25 * seconds), 32, 32) * 255
        with torch.no_grad():
            fa, fv = m.audio(pcm), m.video(frames)
            self.assertEqual(fa.shape, (1, 50, 32))  # 25 Hz audio encoder
            self.assertEqual(fv.shape, (1, 50, 32))
            for k, (ra, rv) in enumerate(m.cfg.scales):
                self.assertEqual(m.audio_tokens(fa, k).shape, (1, 50 // ra, 64))
                self.assertEqual(m.video_tokens(fv, k).shape, (1, 50 // rv, 64))

    def test_compress_avg_and_stack(self):
        x = torch.arange(2 * 7 * 3, dtype=torch.float32).reshape(2, 7, 3)
        self.assertTrue(torch.allclose(compress(x, 3), x[:, :6].reshape(2, 2, 3, 3).mean(2)))
        self.assertTrue(torch.allclose(compress(x, 3, "stack"), x[:, :6].reshape(2, 2, 9)))
        m = AVModel(tiny(compression="stack"))
        fa = torch.randn(1, 20, 32)
        self.assertEqual(m.audio_tokens(fa, 3).shape, (1, 20 // m.cfg.scales[3][0], 64))

    def test_lora_variants_ranks(self):
        for variant, per_scale_rank in (("MS", 4), ("SS", 4), ("MSS", 8)):
            m = AVModel(tiny(lora_variant=variant))
            qa, qb, va, vb = m.lora.for_scale(2)
            self.assertEqual(qa.shape, (2, 64, per_scale_rank))
            self.assertEqual(vb.shape, (2, per_scale_rank, 64))
        ms = AVModel(tiny(lora_variant="MS")).lora
        self.assertTrue(torch.equal(ms.for_scale(0)[0], ms.for_scale(3)[0]))  # one shared adapter

    def test_kv_cache_matches_full_pass(self):
        torch.manual_seed(1)
        m = AVModel(tiny()).eval()
        for p in m.lora.b.values():
            torch.nn.init.normal_(p, std=0.1)
        lora = m.lora.for_scale(1)
        x = torch.randn(1, 9, 64)
        with torch.no_grad():
            full, _, _, _ = m.lm(x, None, lora)
            empty = torch.zeros(2, 2, 1, 4, 0, 16)
            _, past, _, _ = m.lm(x[:, :6], empty, lora)
            outs = []
            for t in range(6, 9):
                lg, past, _, _ = m.lm(x[:, t:t + 1], past, lora)
                outs.append(lg[0, 0])
        self.assertLess((torch.stack(outs) - full[0, 6:]).abs().max().item(), 1e-4)
        self.assertEqual(past.shape, (2, 2, 1, 4, 9, 16))

    def test_sequence_layout_and_labels(self):
        tok = CharTokenizer()
        emb = torch.nn.Embedding(len(tok), 8)
        a = torch.randn(2, 5, 8)
        v = torch.randn(2, 3, 8)
        seq, lab, pre = build_sequences(tok, emb, a, torch.tensor([5, 4]), v, torch.tensor([3, 3]),
                                        ["avsr", "vsr"], ["hi", "a b"])
        # avsr: bos <audio> 5 </audio> <video> 3 </video> <avsr> = 14; vsr: bos <video> 3 </video> <vsr> = 7
        self.assertEqual(pre.tolist(), [14, 7])
        self.assertEqual(seq.shape[1], 14 + 2)
        self.assertEqual(lab[0, 13:16].tolist(), tok.encode("hi") + [tok.eos])
        self.assertTrue((lab[0, :13] == -100).all())
        self.assertEqual(lab[1, 6:10].tolist(), tok.encode("a b") + [tok.eos])


class TrainingOptionTests(unittest.TestCase):
    def test_loss_with_mome_and_sink_backpropagates_to_adapters_only(self):
        torch.manual_seed(2)
        mc = tiny(mome=True, sink_loss=0.1, lm_layers=3)
        m = AVModel(mc)
        m.freeze_lm()
        tok = CharTokenizer()
        b = {"pcm": torch.randn(2, 16000) * 0.1, "frames": torch.rand(2, 25, 32, 32) * 255,
             "pcm_len": torch.tensor([16000, 12800]), "frame_len": torch.tensor([25, 20]),
             "tasks": ["avsr", "asr"], "texts": ["hello", "hi there"]}
        out = av_losses(m, tok, b, [0, 3], mc, TrainConfig())
        self.assertIn("sink_s3", out)
        out["loss"].backward()
        self.assertIsNone(m.lm.blocks[0].q.weight.grad)  # frozen LM
        self.assertIsNotNone(m.lm.mome.up.grad)
        self.assertIsNotNone(m.lora.b["g_q"].grad)
        self.assertIsNotNone(m.proj_a[3].l1.weight.grad)
        self.assertIsNone(m.proj_a[1].l1.weight.grad)  # scale not in this step

    def test_conv_module_starts_as_identity_and_then_learns(self):
        from nestcap_av.model import ConvModule

        torch.manual_seed(3)
        conv = ConvModule(16, 5)
        x = torch.randn(2, 9, 16)
        self.assertTrue(torch.equal(conv(x), x))  # adding it to a trained encoder changes nothing at first
        conv(x).pow(2).sum().backward()
        self.assertGreater(conv.pw2.weight.grad.abs().sum().item(), 0.0)

    def test_encoders_with_conv_modules_keep_shapes_and_lengths(self):
        m = AVModel(tiny(encoder_conv_kernel=5)).eval()
        with torch.no_grad():
            self.assertEqual(m.audio(torch.randn(1, 32000) * 0.1).shape, (1, 50, 32))
            self.assertEqual(m.video(torch.rand(1, 50, 32, 32) * 255).shape, (1, 50, 32))

    def test_the_utterance_mean_ignores_padding_silence_and_gain(self):
        m = AVModel(tiny(audio_cmn=True)).eval()
        torch.manual_seed(0)
        speech = torch.randn(1, 16000) * 0.1
        speech[:, :4000] = 0  # digital silence, as the synthetic corpus has, which the mean must leave out
        with torch.no_grad():
            alone = m.audio.mel(speech)
            batch = torch.zeros(2, 24000)
            batch[0, :16000], batch[1, :16000] = speech[0], 0.25 * speech[0]
            loud_padding = batch.clone()
            loud_padding[:, 16000:] = torch.randn(2, 8000)  # louder than the speech: only the lengths keep it out
            padded = m.audio.mel(loud_padding, torch.tensor([16000, 16000]))
            frames, speech_frames = alone.shape[1], slice(27, alone.shape[1])  # after the silence's last frame
            self.assertLess((padded[0, :frames] - alone[0]).abs().max().item(), 1e-4)
            self.assertLess((padded[1, speech_frames] - alone[0, speech_frames]).abs().max().item(), 5e-3)
            self.assertGreater((m.audio.mel(loud_padding)[0, :frames] - alone[0]).abs().max().item(), 0.1)
            # the global mean alone (the option off) keeps the gain: a quarter of the amplitude reads lower
            plain = AVModel(tiny()).eval().audio.mel(batch)
            self.assertGreater((plain[0, speech_frames] - plain[1, speech_frames]).mean().item(), 0.5)
            # a padded batch encodes as the utterance alone, up to the last frames' convolutions reaching into
            # the padding (which attention then spreads a little)
            lengths = m.audio.out_len(torch.tensor([16000, 16000]))
            encoded = m.audio(batch, lengths, n_samples=torch.tensor([16000, 16000]))
            inner = int(lengths[0]) - 2
            self.assertLess((encoded[0, :inner] - m.audio(speech)[0, :inner]).abs().max().item(), 1e-2)

    def test_a_finer_lip_grid_feeds_sixteen_cells_and_keeps_the_video_shapes(self):
        m = AVModel(tiny(video_grid=4)).eval()
        self.assertEqual(m.video.fc.in_features, 64 * 16)
        with torch.no_grad():
            self.assertEqual(m.video(torch.rand(1, 10, 32, 32) * 255).shape, (1, 10, 32))

    def test_frozen_encoders_train_only_adapters(self):
        torch.manual_seed(4)
        mc = tiny()
        m = AVModel(mc)
        m.freeze_lm()
        m.freeze_encoders()
        tok = CharTokenizer()
        b = {"pcm": torch.randn(2, 16000) * 0.1, "frames": torch.rand(2, 25, 32, 32) * 255,
             "pcm_len": torch.tensor([16000, 12800]), "frame_len": torch.tensor([25, 20]),
             "tasks": ["avsr", "vsr"], "texts": ["hello", "hi there"]}
        out = av_losses(m, tok, b, [1], mc, TrainConfig(freeze_encoders=True))
        self.assertNotIn("ctc_a", out)  # no encoder loss when the encoders cannot learn
        out["loss"].backward()
        self.assertTrue(all(p.grad is None for p in m.encoder_parameters()))
        self.assertIsNotNone(m.proj_v[1].l1.weight.grad)
        self.assertIsNotNone(m.lora.b["s1_q"].grad)

    def test_seeding_a_wider_audio_encoder_keeps_the_rest(self):
        from nestcap_av.train import without_resized

        seed = AVModel(tiny()).state_dict()
        wider = AVModel(tiny(audio_dim=48))
        kept, resized = without_resized(wider, seed)
        self.assertIn("audio.blocks.0.q.weight", resized)
        self.assertIn("ctc_a.weight", resized)
        self.assertIn("proj_a.0.l1.weight", resized)
        self.assertFalse(any(k.startswith(("video.", "lm.", "ctc_v.")) for k in resized))
        # shape-free buffers (the log-mel front end and its normalisation) are still seeded
        self.assertIn("audio.mel.norm", kept)
        missing, _ = wider.load_state_dict(kept, strict=False)
        self.assertEqual(sorted(missing), resized)
        self.assertTrue(torch.equal(wider.video.fc.weight, seed["video.fc.weight"]))

    def test_audio_visual_ctc_head_starts_as_the_audio_head_and_learns_from_video(self):
        import torch.nn.functional as F

        from nestcap_av.decoding import ctc_greedy
        from nestcap_av.model import av_ctc_log_probs, ctc_log_probs

        torch.manual_seed(6)
        m = AVModel(tiny(av_ctc_dim=32))
        tok = CharTokenizer()
        text = "abcab"
        ids = tok.encode(text)
        # audio is noise; the video says one letter per 4 frames (one-hot in its first dimensions)
        fa = torch.randn(1, 24, 32)
        fv = torch.zeros(1, 22, 32)
        for i, c in enumerate(ids):
            fv[0, 4 * i: 4 * i + 2, c % 32] = 3.0
        with torch.no_grad():
            before = av_ctc_log_probs(m, fa, fv)
            self.assertEqual(before.shape, (1, 44, len(tok)))  # the shorter stream's length, two symbols per frame
            self.assertTrue(torch.allclose(before, ctc_log_probs(m.ctc_a, fa[:, :22])))
        m.freeze_all_but_av_ctc()
        opt = torch.optim.Adam(m.ctc_av.parameters(), lr=1e-2)
        for _ in range(200):
            lp = av_ctc_log_probs(m, fa, fv)
            loss = F.ctc_loss(lp.transpose(0, 1), torch.tensor([ids]), torch.tensor([44]), torch.tensor([len(ids)]),
                              blank=tok.pad)
            opt.zero_grad()
            loss.backward()
            opt.step()
        self.assertTrue(all(p.grad is None for n, p in m.named_parameters() if not n.startswith("ctc_av.")))
        with torch.no_grad():
            self.assertEqual(ctc_greedy(av_ctc_log_probs(m, fa, fv)[0].numpy(), tok), text)

    def test_the_phone_heads_start_as_the_audio_phone_head_and_train_in_stage_four(self):
        from nestcap_av.model import av_ctc_log_probs, ctc_log_probs
        from nestcap_av.train import fusion_weights, restore_fusion

        m = AVModel(tiny(av_ctc_dim=32, phone_vocab=50))
        fa, fv = torch.randn(1, 24, 32), torch.randn(1, 22, 32)
        with torch.no_grad():
            self.assertEqual(ctc_log_probs(m.ctc_p, fa).shape, (1, 48, 50))
            phones = av_ctc_log_probs(m, fa, fv, phones=True)
            self.assertEqual(phones.shape, (1, 44, 50))
            self.assertTrue(torch.allclose(phones, ctc_log_probs(m.ctc_p, fa[:, :22])))
        m.freeze_all_but_av_ctc()
        learning = {n for n, p in m.named_parameters() if p.requires_grad}
        self.assertTrue(learning and all(n.startswith(("ctc_av.", "ctc_avp.")) for n in learning))
        self.assertTrue(any(n.startswith("ctc_avp.") for n in learning))
        # the stage checkpoint keeps both heads, apart, and gives them back
        weights = fusion_weights(m)
        other = AVModel(tiny(av_ctc_dim=32, phone_vocab=50))
        restore_fusion(other, weights)
        self.assertTrue(torch.equal(other.ctc_avp.inp.weight, m.ctc_avp.inp.weight))
        self.assertTrue(torch.equal(other.ctc_av.inp.weight, m.ctc_av.inp.weight))
        self.assertIsNone(AVModel(tiny(av_ctc_dim=32)).ctc_avp)  # runs without the phone head load as before

    def test_the_video_phone_head_is_a_video_parameter_frozen_with_the_encoders(self):
        from nestcap_av.model import ctc_log_probs

        self.assertIsNone(AVModel(tiny(phone_vocab=50)).ctc_vp)  # only where a run asks for it
        m = AVModel(tiny(phone_vocab=50, video_phone_head=True))
        fv = torch.randn(1, 22, 32)
        self.assertEqual(ctc_log_probs(m.ctc_vp, fv).shape, (1, 44, 50))
        head = {id(p) for p in m.ctc_vp.parameters()}
        self.assertTrue(head <= {id(p) for p in m.video_parameters()})
        self.assertTrue(head <= {id(p) for p in m.encoder_parameters()})
        self.assertFalse(head & {id(p) for p in m.audio_parameters()})
        m.freeze_encoders()
        self.assertFalse(any(p.requires_grad for p in m.ctc_vp.parameters()))

    def test_the_viseme_head_classifies_every_video_frame_and_is_frozen_with_the_encoders(self):
        from nestcap_av.render import VISEME_CLASSES

        self.assertIsNone(AVModel(tiny()).viseme_v)
        m = AVModel(tiny(video_viseme_head=True))
        self.assertEqual(m.viseme_v(torch.randn(2, 22, 32)).shape, (2, 22, len(VISEME_CLASSES)))
        self.assertTrue({id(p) for p in m.viseme_v.parameters()} <= {id(p) for p in m.video_parameters()})
        m.freeze_encoders()
        self.assertFalse(any(p.requires_grad for p in m.viseme_v.parameters()))

    def test_ctc_losses_are_per_character_and_finite(self):
        from nestcap_av.train import ctc_losses

        m = AVModel(tiny())
        tok = CharTokenizer()
        enc = torch.randn(2, 30, 32)
        la, lv = ctc_losses(m, tok, ["abc", "hello there"], enc, torch.tensor([30, 25]), enc, torch.tensor([30, 30]))
        # an untrained head spreads probability over the vocabulary: about log(V) nats per character or more
        self.assertTrue(torch.isfinite(la) and torch.isfinite(lv))
        self.assertGreater(la.item(), 1.0)

    def test_lm_pretraining_batch_lays_out_transcriptions_of_a_pseudo_prefix(self):
        import numpy as np

        from nestcap_av.model import LM
        from nestcap_av.train import lm_batch

        tok = CharTokenizer()
        lm = LM(tiny())
        texts = ["hello there", "a b"]
        every = TrainConfig(lm_transcription_share=1.0, task_probs={"asr": 1.0})
        emb, labels = lm_batch(lm, tok, texts, np.random.default_rng(0), every)
        self.assertEqual(emb.shape[:2], labels.shape)
        for k, text in enumerate(texts):
            targets = labels[k][labels[k] != -100].tolist()
            self.assertEqual(targets, tok.encode(text) + [tok.eos])
            first = int((labels[k] != -100).nonzero()[0])
            # BOS, <audio>, at least one pseudo token, </audio>, prompt: the transcript is predicted after them
            self.assertGreaterEqual(first, 4)
        plain = TrainConfig(lm_transcription_share=0.0, task_probs={"asr": 1.0})
        _, labels = lm_batch(lm, tok, texts, np.random.default_rng(0), plain)
        self.assertEqual(int((labels[0] != -100).nonzero()[0]), 1)  # BOS, prompt, then the text


class SeedingTests(unittest.TestCase):
    def test_blocks_added_to_a_seeded_encoder_start_as_the_identity(self):
        torch.manual_seed(0)
        seed = AVModel(tiny(encoder_conv_kernel=3)).eval()
        deeper = AVModel(tiny(encoder_conv_kernel=3, audio_layers=3, video_layers=2)).eval()
        init, resized = without_resized(deeper, seed.state_dict())
        missing, _ = deeper.load_state_dict(init, strict=False)
        pcm = torch.randn(1, 16000) * 0.1
        frames = torch.rand(1, 25, 32, 32) * 255
        with torch.no_grad():
            self.assertFalse(torch.allclose(deeper.audio(pcm), seed.audio(pcm), atol=1e-4))  # random new blocks
            started = identity_start_added_blocks(deeper, list(missing), resized)
            self.assertEqual(started, ["audio.blocks.1", "audio.blocks.2", "video.blocks.1"])
            self.assertTrue(torch.allclose(deeper.audio(pcm), seed.audio(pcm), atol=1e-6))
            self.assertTrue(torch.allclose(deeper.video(frames), seed.video(frames), atol=1e-5))

    def test_a_resized_encoder_keeps_its_usual_initialisation(self):
        seed = AVModel(tiny())
        wider = AVModel(tiny(audio_dim=48, audio_layers=2))
        init, resized = without_resized(wider, seed.state_dict())
        missing, _ = wider.load_state_dict(init, strict=False)
        self.assertTrue(resized)
        self.assertEqual(identity_start_added_blocks(wider, list(missing), resized), [])
        self.assertGreater(float(wider.audio.blocks[1].o.weight.abs().sum()), 0.0)


class DeviceTests(unittest.TestCase):
    """Training runs on the CPU here and on CUDA where the device machine lends a GPU (gpu_check.sh)."""

    def batch(self) -> dict:
        torch.manual_seed(4)
        return {"pcm": torch.randn(2, 16000) * 0.1, "frames": torch.rand(2, 25, 32, 32) * 255,
                "pcm_len": torch.tensor([16000, 12800]), "frame_len": torch.tensor([25, 20]),
                "tasks": ["avsr", "asr"], "texts": ["hello", "hi there"]}

    def test_auto_picks_cuda_only_where_pytorch_sees_a_gpu_and_asking_for_it_elsewhere_fails(self):
        from nestcap_av.train import resolve_device
        self.assertEqual(resolve_device("cpu"), "cpu")
        self.assertEqual(resolve_device("auto"), "cuda" if torch.cuda.is_available() else "cpu")
        if not torch.cuda.is_available():
            with self.assertRaisesRegex(SystemExit, "no CUDA GPU"):
                resolve_device("cuda")
        with self.assertRaisesRegex(SystemExit, "expected auto, cpu or cuda"):
            resolve_device("tpu")

    def test_a_batch_moves_its_tensors_and_keeps_its_lists(self):
        from nestcap_av.train import on_device
        b = on_device(self.batch(), "cpu")
        self.assertEqual(b["pcm"].device.type, "cpu")
        self.assertEqual(b["texts"], ["hello", "hi there"])

    @unittest.skipUnless(torch.cuda.is_available(), "no CUDA GPU (the device machine runs this in gpu_check.sh)")
    def test_the_losses_on_cuda_match_the_cpu_on_the_same_weights(self):
        from nestcap_av.train import on_device
        torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
        mc = tiny(mome=True, sink_loss=0.1, lm_layers=3)
        torch.manual_seed(5)
        cpu_model = AVModel(mc)
        gpu_model = AVModel(mc)
        gpu_model.load_state_dict(cpu_model.state_dict())
        gpu_model.to("cuda")
        tok = CharTokenizer()
        b = self.batch()
        on_cpu = av_losses(cpu_model, tok, b, [0, 1, 2, 3], mc, TrainConfig())
        on_gpu = av_losses(gpu_model, tok, on_device(b, "cuda"), [0, 1, 2, 3], mc, TrainConfig())
        for key, value in on_cpu.items():
            self.assertAlmostEqual(float(value), float(on_gpu[key]), delta=1e-4 * max(1.0, abs(float(value))), msg=key)
        on_gpu["loss"].backward()
        self.assertTrue(all(p.grad is None or p.grad.device.type == "cuda" for p in gpu_model.parameters()))


if __name__ == "__main__":
    unittest.main()


class DecodingTests(unittest.TestCase):
    def test_no_repeat_ngram_bans_what_would_repeat(self):
        from nestcap_av.decoding import banned_next
        # The same cases as test/unit/no-repeat-ngram.test.ts: the engine must decode as the evaluation did.
        self.assertEqual(banned_next([1, 2, 3, 1, 2], 3), {3})
        self.assertEqual(banned_next([5, 5, 5], 2), {5})
        self.assertEqual(banned_next([1, 2, 3, 4], 3), set())
        self.assertEqual(banned_next([1, 2, 1, 2], 0), set())
