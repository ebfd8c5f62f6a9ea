"""Greedy decoding with the KV cache, on the LM alone or jointly with CTC (the hybrid CTC-attention
decoding of Watanabe et al., 2017).

The audio encoder's auxiliary CTC head sees every 25 Hz frame at full rate, before any Matryoshka
compression; the LM sees the compressed tokens and carries the language prior.  Scoring each
candidate prefix by ``(1 - w) * log p_lm(prefix) + w * log p_ctc(prefix)`` lets the CTC alignment veto
the LM's fluent but unfaithful continuations, which is what a small LM on few tokens produces most.
The engine (electron/engine/ctc-prefix-scorer.ts and recognizer.ts) implements the same recurrences; this module is the
reference the evaluation uses.
"""

from __future__ import annotations

import numpy as np
import torch

from .config import NO_REPEAT_NGRAM
from .data import CharTokenizer
from .model import ctc_log_probs

NEG = -1e30
DEFAULT_CTC_WEIGHT = 0.5  # the evaluation tunes it on development utterances (--ctc-weight auto) and writes it to the manifest
JOINT_CANDIDATES = 6


def audio_ctc(model, feats: torch.Tensor) -> np.ndarray:
    """[2T, V] log-probabilities of the audio CTC head for one utterance, as the engine reads them."""
    return ctc_log_probs(model.ctc_a, feats)[0].numpy().astype(np.float64)


def ctc_greedy(log_probs: np.ndarray, tok: CharTokenizer) -> str:
    """Best path, repeats merged and blanks dropped: what the CTC head says without any LM."""
    best = log_probs.argmax(-1)
    keep = [int(s) for i, s in enumerate(best) if s != tok.pad and (i == 0 or s != best[i - 1])]
    return tok.decode(keep)


class CTCPrefixState:
    """Forward variables of one prefix: log P(prefix, frame t ends in a non-blank | blank)."""

    __slots__ = ("r_n", "r_b", "score", "last")

    def __init__(self, r_n: np.ndarray, r_b: np.ndarray, score: float, last: int):
        self.r_n, self.r_b, self.score, self.last = r_n, r_b, score, last


class CTCPrefixScorer:
    def __init__(self, log_probs: np.ndarray, blank: int):
        self.x = log_probs
        self.blank = blank

    def initial(self) -> CTCPrefixState:
        r_b = np.cumsum(self.x[:, self.blank])
        return CTCPrefixState(np.full(len(r_b), NEG), r_b, 0.0, -1)

    def extend(self, g: CTCPrefixState, chars: list[int]) -> list[CTCPrefixState]:
        """Prefix probabilities of ``g + c`` for every ``c`` in ``chars``.

        The recurrences r_n[t] = (r_n[t-1] + phi[t-1]) x_c[t] and r_b[t] = (r_b[t-1] + r_n[t-1]) x_blank[t] are
        linear, so each is a running log-sum-exp after dividing out the running product of its frame
        probabilities: vectorised over frames and characters, no Python loop over time.
        """
        c = np.asarray(chars)
        xc = self.x[:, c]  # [T, K]
        xb = self.x[:, self.blank][:, None]
        both = np.logaddexp(g.r_n, g.r_b)
        # a repeated character needs a blank in between, so only the blank-ending paths continue it
        phi = np.where((c == g.last)[None, :], g.r_b[:, None], both[:, None])  # [T, K]
        first = xc[0] if g.last < 0 else np.full(len(c), NEG)
        log_pc = np.cumsum(xc, 0)
        terms = np.concatenate([(first - log_pc[0])[None], phi[:-1] - log_pc[:-1]], 0)
        r_n = log_pc + np.logaddexp.accumulate(terms, 0)
        log_pb = np.cumsum(np.broadcast_to(xb, xc.shape), 0)
        terms_b = np.concatenate([np.full((1, len(c)), NEG), r_n[:-1] - log_pb[:-1]], 0)
        r_b = log_pb + np.logaddexp.accumulate(terms_b, 0)
        psi = np.logaddexp(first, np.logaddexp.reduce(phi[:-1] + xc[1:], 0)) if len(xc) > 1 else first
        return [CTCPrefixState(r_n[:, k], r_b[:, k], float(psi[k]), int(c[k])) for k in range(len(c))]

    def final(self, g: CTCPrefixState) -> float:
        """log P(exactly this transcript) — the score of ending here."""
        return float(np.logaddexp(g.r_n[-1], g.r_b[-1]))


def banned_next(tokens: list[int], n: int) -> set[int]:
    """Tokens that would repeat an n-gram already in ``tokens`` (the engine's bannedNext)."""
    if n < 2 or len(tokens) < n - 1:
        return set()
    tail = tokens[len(tokens) - (n - 1):]
    return {tokens[i + n - 1] for i in range(len(tokens) - n + 1) if tokens[i:i + n - 1] == tail}


@torch.no_grad()
def greedy(model, tok: CharTokenizer, prefix: torch.Tensor, lora, max_len: int = 120, ctc: np.ndarray | None = None,
           weight: float = 0.0, candidates: int = JOINT_CANDIDATES, no_repeat_ngram: int = NO_REPEAT_NGRAM) -> str:
    """Greedy decoding.  With ``ctc`` and ``weight`` > 0, on the joint score: each step takes the LM's top
    ``candidates`` next tokens and keeps the one whose prefix has the best weighted LM + CTC log-probability
    (eos is scored by CTC as the transcript ending there)."""
    cfg = model.cfg
    L, H, dh = cfg.lm_layers, cfg.lm_heads, cfg.lm_dim // cfg.lm_heads
    past = torch.zeros(L, 2, 1, H, 0, dh)
    logits, past, _, _ = model.lm(prefix, past, lora)
    scorer = CTCPrefixScorer(ctc, tok.pad) if ctc is not None and weight > 0 else None
    state = scorer.initial() if scorer else None
    out: list[int] = []
    while len(out) < max_len:
        lp = torch.log_softmax(logits[0, -1].double(), -1)
        banned = banned_next(out, no_repeat_ngram)
        if banned:
            lp[list(banned)] = float("-inf")
        if scorer is None:
            nxt = int(lp.argmax())
        else:
            top = [int(i) for i in torch.topk(lp, candidates).indices if lp[i] > float("-inf")]
            chars = [i for i in top if i != tok.eos]
            ext = dict(zip(chars, scorer.extend(state, chars))) if chars else {}
            ctc_score = {i: (scorer.final(state) if i == tok.eos else ext[i].score) for i in top}
            # the LM part is the same for every candidate's history, so only this step's term differs
            nxt = max(top, key=lambda i: (1 - weight) * float(lp[i]) + weight * (ctc_score[i] - state.score))
            if nxt != tok.eos:
                state = ext[nxt]
        if nxt == tok.eos:
            break
        out.append(nxt)
        logits, past, _, _ = model.lm(model.lm.emb(torch.tensor([[nxt]])), past, lora)
    return tok.decode(out)
