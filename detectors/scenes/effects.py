"""Photometric camera effects: none of them moves a pixel, so label boxes stay valid."""

from __future__ import annotations

import av
import cv2
import numpy as np

__all__ = ["apply_effects", "compress", "h264_roundtrip", "night_infrared"]

Image = np.ndarray


def _lighting(img: Image, rng: np.random.Generator) -> Image:
    """Uneven fluorescent lighting: a brightness gradient plus a global gain."""
    h, w = img.shape[:2]
    gx = np.linspace(rng.uniform(0.6, 1.2), rng.uniform(0.6, 1.2), w, dtype=np.float32)
    gy = np.linspace(rng.uniform(0.8, 1.2), rng.uniform(0.7, 1.1), h, dtype=np.float32)
    gain = np.outer(gy, gx)[..., None] * float(rng.uniform(0.7, 1.15))
    tint = rng.uniform(0.94, 1.06, size=3).astype(np.float32)  # white balance drift
    return np.clip(img.astype(np.float32) * gain * tint, 0, 255).astype(np.uint8)


def _haze(img: Image, rng: np.random.Generator) -> Image:
    """Steam or grease film: a blurred, blotchy veil blended toward grey-white."""
    h, w = img.shape[:2]
    small = rng.random((max(2, h // 40), max(2, w // 40))).astype(np.float32)
    veil = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    strength = float(rng.uniform(0.15, 0.5))
    alpha = np.clip(veil * strength, 0, 0.6)[..., None]
    color = float(rng.uniform(190, 235))
    out: Image = (img.astype(np.float32) * (1 - alpha) + color * alpha).astype(np.uint8)
    return out


def _glare(img: Image, rng: np.random.Generator) -> Image:
    """A blown-out spot from a lamp or a steel surface."""
    h, w = img.shape[:2]
    mask = np.zeros((h, w), np.float32)
    center = (int(rng.integers(w)), int(rng.integers(h // 2)))
    cv2.circle(mask, center, int(rng.integers(max(2, h // 20), max(3, h // 6))), 1.0, -1)
    spot = np.asarray(cv2.GaussianBlur(mask, (0, 0), float(h) / 20), np.float32)[..., None]
    out: Image = np.clip(img + spot * 255 * rng.uniform(0.4, 0.9), 0, 255).astype(np.uint8)
    return out


def _blur(img: Image, rng: np.random.Generator) -> Image:
    if rng.random() < 0.5:  # defocus
        return np.asarray(cv2.GaussianBlur(img, (0, 0), float(rng.uniform(0.6, 1.6))))
    k = int(rng.integers(3, 8))  # horizontal motion blur from a moving worker or a slow shutter
    kernel = np.zeros((k, k), np.float32)
    kernel[k // 2, :] = 1.0 / k
    return np.asarray(cv2.filter2D(img, -1, kernel))


def _noise(img: Image, rng: np.random.Generator, sigma: float) -> Image:
    noise = rng.normal(0, sigma, img.shape).astype(np.float32)
    out: Image = np.clip(img.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    return out


def compress(img: Image, quality: int) -> Image:
    """JPEG round trip: the blocking and ringing of a low-bitrate H.264 stream, cheaply."""
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("cv2.imencode failed")
    out = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    if out is None:
        raise RuntimeError("cv2.imdecode failed")
    return np.asarray(out)


def h264_roundtrip(img: Image, crf: int) -> Image:
    """One intra frame through libx264 and back: the cameras' real blocking and deblocking."""
    h, w = img.shape[:2]
    if h % 2 or w % 2:  # yuv420p needs even sides; JPEG at a matching quality instead
        return compress(img, max(10, 100 - 2 * crf))
    try:
        enc = av.CodecContext.create("libx264", "w")
        enc.width, enc.height, enc.pix_fmt = w, h, "yuv420p"
        # One thread keeps the output bit-identical run to run (a scene is a function of its seed).
        enc.options = {
            "crf": str(crf),
            "preset": "ultrafast",
            "tune": "zerolatency",
            "threads": "1",
        }
        packets = [*enc.encode(av.VideoFrame.from_ndarray(img, format="bgr24")), *enc.encode(None)]
        dec = av.CodecContext.create("h264", "r")
        frames = [f for p in [*packets, None] for f in dec.decode(p)]
    except av.error.FFmpegError as exc:
        raise RuntimeError(f"H.264 round trip failed: {exc}") from exc
    out: Image = frames[0].to_ndarray(format="bgr24")
    return out


def night_infrared(img: Image, rng: np.random.Generator) -> Image:
    """IR night mode: grayscale, a bright centre from the IR LEDs, heavy sensor noise."""
    h, w = img.shape[:2]
    gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).astype(np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r2 = ((xx - w / 2) / w) ** 2 + ((yy - h / 2) / h) ** 2
    falloff = np.exp(-r2 * rng.uniform(2, 5)) * rng.uniform(0.6, 1.1)
    gray = gray * falloff + rng.normal(0, rng.uniform(4, 10), gray.shape)
    gray = np.clip(gray, 0, 255).astype(np.uint8)
    gray = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
    # Compression after collapsing keeps the three channels identical (JPEG Y-only content).
    out = compress(gray, int(rng.integers(30, 75)))
    mono: Image = cv2.cvtColor(cv2.cvtColor(out, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    return mono


def apply_effects(img: Image, rng: np.random.Generator, *, night: bool) -> Image:
    """Daytime camera effects in a random subset, or the night IR look."""
    if night:
        return night_infrared(img, rng)
    out = _lighting(img, rng)
    if rng.random() < 0.4:
        out = _haze(out, rng)
    if rng.random() < 0.25:
        out = _glare(out, rng)
    if rng.random() < 0.4:
        out = _blur(out, rng)
    out = _noise(out, rng, float(rng.uniform(0, 6)))
    if rng.random() < 0.5:
        return h264_roundtrip(out, int(rng.integers(22, 37)))
    return compress(out, int(rng.integers(25, 90)))
