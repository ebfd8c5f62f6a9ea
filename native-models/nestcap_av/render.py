"""Phone timings -> viseme parameter tracks -> rendered 25 fps grayscale mouth-ROI video."""

from __future__ import annotations

import numpy as np

FPS = 25

# viseme parameters: (jaw open, spread, round, teeth, tongue)
VISEMES: dict[str, tuple[float, float, float, float, float]] = {
    "sil": (0.04, 0.0, 0.0, 0.0, 0.0),
    "pbm": (0.0, 0.0, 0.1, 0.0, 0.0),
    "fv": (0.10, 0.2, 0.0, 1.0, 0.0),
    "th": (0.22, 0.3, 0.0, 0.8, 1.0),
    "alv": (0.22, 0.5, 0.0, 0.9, 0.3),
    "vel": (0.32, 0.3, 0.1, 0.5, 0.0),
    "post": (0.22, 0.0, 0.7, 0.9, 0.0),
    "r": (0.20, 0.0, 0.6, 0.3, 0.0),
    "w": (0.10, 0.0, 1.0, 0.0, 0.0),
    "open": (0.80, 0.3, 0.0, 0.6, 0.2),
    "mid": (0.50, 0.4, 0.1, 0.6, 0.1),
    "spread": (0.30, 1.0, 0.0, 0.9, 0.0),
    "round": (0.55, 0.0, 0.8, 0.3, 0.0),
    "er": (0.30, 0.1, 0.45, 0.4, 0.0),
}

ARPABET = {
    "pau": "sil", "h#": "sil", "sil": "sil", "_": "sil",
    "p": "pbm", "b": "pbm", "m": "pbm", "f": "fv", "v": "fv", "th": "th", "dh": "th",
    "t": "alv", "d": "alv", "n": "alv", "l": "alv", "s": "alv", "z": "alv",
    "k": "vel", "g": "vel", "ng": "vel", "hh": "vel", "y": "spread",
    "sh": "post", "zh": "post", "ch": "post", "jh": "post", "r": "r", "w": "w",
    "aa": "open", "ae": "open", "ah": "mid", "ax": "mid", "ay": "open", "aw": "open",
    "eh": "mid", "ey": "spread", "ih": "spread", "iy": "spread", "ao": "round", "ow": "round",
    "oy": "round", "uh": "w", "uw": "w", "er": "er", "axr": "er",
}


def viseme_of(phone: str) -> str:
    """Map an ARPAbet (festival/flite) or espeak-ng mnemonic to a viseme class."""
    p = phone.strip()
    if p.lower() in ARPABET:
        return ARPABET[p.lower()]
    if not p or p[0] in "_#":
        return "sil"
    if p.startswith(("tS", "dZ")) or p[0] in "SZ":
        return "post"
    c = p[0]
    table = {
        "p": "pbm", "b": "pbm", "m": "pbm", "f": "fv", "v": "fv", "T": "th", "D": "th",
        "t": "alv", "d": "alv", "n": "alv", "l": "alv", "s": "alv", "z": "alv", "N": "vel",
        "k": "vel", "g": "vel", "h": "vel", "x": "vel", "j": "spread", "r": "r", "w": "w",
        "a": "open", "A": "open", "V": "mid", "@": "mid", "3": "er", "e": "mid", "E": "mid",
        "i": "spread", "I": "spread", "o": "round", "O": "round", "u": "w", "U": "w", "0": "round",
    }
    return table.get(c, "mid")


VISEME_CLASSES = list(VISEMES)  # a viseme's index in the video encoder's frame-level viseme head
VISEME_INDEX = {name: k for k, name in enumerate(VISEME_CLASSES)}


def viseme_labels(phones: list, n_frames: int, lead_s: float = 0.03) -> np.ndarray:
    """The viseme class index each rendered frame shows, from the phone timings ``[(phone, start, end)]``:
    frame t shows the phone at ``(t + 0.5) / FPS + lead_s`` (video leads audio; the corpus draws the lead
    from 0-60 ms and does not keep it, so the mean), silence outside every phone."""
    times = (np.arange(n_frames) + 0.5) / FPS + lead_s
    labels = np.full(n_frames, VISEME_INDEX["sil"], np.int64)
    for name, t0, t1 in phones:
        labels[(times >= t0) & (times < t1)] = VISEME_INDEX[viseme_of(name)]
    return labels


def viseme_tracks(phones: list, n_frames: int, rng: np.random.Generator, lead_s: float = 0.03) -> np.ndarray:
    """Per-frame viseme parameters [n_frames, 5] with coarticulation.

    Targets sit at phone midpoints (bilabials and fricatives hold their target over the phone), are joined
    piecewise-linearly on a 1 kHz grid and smoothed with a Gaussian (anticipation of the next phone);
    video leads audio slightly, as real articulators do.
    """
    dt = 0.001
    n = max(1, int(np.ceil(n_frames / FPS / dt)) + 1)
    times = [0.0]
    vals = [np.array(VISEMES["sil"])]
    for name, t0, t1 in phones:
        v = np.array(VISEMES[viseme_of(name)])
        if t1 - t0 > 0.06 or viseme_of(name) in ("pbm", "fv"):
            times += [t0 + 0.25 * (t1 - t0), t0 + 0.75 * (t1 - t0)]
            vals += [v, v]
        else:
            times.append(0.5 * (t0 + t1))
            vals.append(v)
    times.append(n * dt)
    vals.append(np.array(VISEMES["sil"]))
    times_a = np.array(times) - lead_s
    vals_a = np.stack(vals)
    grid = np.arange(n) * dt
    track = np.stack([np.interp(grid, times_a, vals_a[:, k]) for k in range(5)], axis=1)
    sigma = rng.uniform(0.018, 0.035) / dt
    half = int(3 * sigma)
    ker = np.exp(-0.5 * (np.arange(-half, half + 1) / sigma) ** 2)
    ker /= ker.sum()
    padded = np.pad(track, ((half, half), (0, 0)), mode="edge")
    sm = np.stack([np.convolve(padded[:, k], ker, mode="valid") for k in range(5)], axis=1)
    idx = np.clip(((np.arange(n_frames) + 0.5) / FPS / dt).astype(int), 0, n - 1)
    return sm[idx].astype(np.float32)


def _smooth_walk(rng: np.random.Generator, n: int, scale: float, corr: int = 12) -> np.ndarray:
    w = rng.normal(0, 1, n + corr)
    k = np.ones(corr) / np.sqrt(corr)
    return (np.convolve(w, k, mode="valid")[:n] * scale).astype(np.float32)


def render(track: np.ndarray, roi: int, rng: np.random.Generator) -> np.ndarray:
    """Render a uint8 video [T, roi, roi] from viseme tracks with a random identity, lighting, pose and blur."""
    t_len = track.shape[0]
    s = roi * 2  # supersample, then 2x2 area-average
    # identity
    skin = rng.uniform(0.35, 0.8)
    lip = skin * rng.uniform(0.55, 0.85)
    width0 = rng.uniform(0.45, 0.65)
    thick = rng.uniform(0.07, 0.14)
    cy0 = rng.uniform(-0.08, 0.08)
    teeth_b = rng.uniform(0.75, 0.95)
    tex = rng.normal(0, 1, (s, s)).astype(np.float32)
    tex = (tex + np.roll(tex, 1, 0) + np.roll(tex, 1, 1) + np.roll(tex, (1, 1), (0, 1))) * 0.25 * rng.uniform(0.0, 0.06)
    # pose jitter and lighting per frame
    dx = _smooth_walk(rng, t_len, 0.03) + rng.uniform(-0.08, 0.08)
    dy = _smooth_walk(rng, t_len, 0.03) + cy0
    rot = _smooth_walk(rng, t_len, 0.05) + rng.uniform(-0.15, 0.15)
    sc = 1.0 + _smooth_walk(rng, t_len, 0.02) + rng.uniform(-0.08, 0.08)
    gx, gy = rng.uniform(-0.3, 0.3, 2)
    gain = rng.uniform(0.6, 1.25) * (1.0 + _smooth_walk(rng, t_len, 0.02))
    lin = (np.arange(s) + 0.5) / s * 2 - 1
    yy, xx = np.meshgrid(lin, lin, indexing="ij")
    light = 1.0 + gx * xx + gy * yy
    open_, spread, rnd, teeth, tongue = (track[:, k][:, None, None] for k in range(5))
    c, si = np.cos(rot)[:, None, None], np.sin(rot)[:, None, None]
    u = (c * (xx - dx[:, None, None]) + si * (yy - dy[:, None, None])) / sc[:, None, None]
    v = (-si * (xx - dx[:, None, None]) + c * (yy - dy[:, None, None])) / sc[:, None, None]
    ax = width0 * (1.0 - 0.35 * rnd + 0.15 * spread)
    ay_out = thick + 0.42 * open_ + 0.04 * rnd
    ay_in = 0.40 * open_
    ax_in = ax * (0.82 - 0.15 * rnd)
    soft = 2.5 / s
    r_out = np.sqrt((u / ax) ** 2 + (v / ay_out) ** 2)
    m_out = 1.0 / (1.0 + np.exp(-(1.0 - r_out) * ax / soft))
    r_in = np.sqrt((u / ax_in) ** 2 + (v / np.maximum(ay_in, 1e-3)) ** 2)
    m_in = (1.0 / (1.0 + np.exp(-(1.0 - r_in) * np.maximum(ay_in, 1e-3) / soft))) * (ay_in > 0.01)
    # teeth band under the upper lip, tongue blob in the middle
    top = -ay_in
    m_teeth = m_in * (v < top + 0.09 * (0.3 + teeth)) * (teeth > 0.2)
    m_tongue = m_in * np.exp(-((u / (ax_in * 0.5)) ** 2 + ((v - 0.2 * ay_in) / np.maximum(ay_in * 0.6, 1e-3)) ** 2)) * tongue
    img = skin + tex
    img = img * (1 - m_out) + lip * m_out
    img = img * (1 - m_in) + 0.08 * m_in
    img = img * (1 - m_teeth) + teeth_b * m_teeth
    img = img * (1 - m_tongue) + (lip * 0.9) * m_tongue
    # crease shadows at the corners and under the lower lip
    img -= 0.08 * np.exp(-((np.abs(u) - ax) ** 2 / 0.004 + v ** 2 / 0.01))
    img = img * light[None] * gain[:, None, None]
    # blur (separable box blur, 0-2 passes) then 2x2 area average to the ROI size
    for _ in range(int(rng.integers(0, 3))):
        img = (img + np.roll(img, 1, 1) + np.roll(img, -1, 1)) / 3
        img = (img + np.roll(img, 1, 2) + np.roll(img, -1, 2)) / 3
    img = img.reshape(t_len, roi, 2, roi, 2).mean(axis=(2, 4))
    img += rng.normal(0, rng.uniform(0.005, 0.03), img.shape)
    return np.clip(img * 255.0, 0, 255).astype(np.uint8)
