"""Real frames kept in ``frames/<protocol>.txt`` (their source named at the top of each file)."""

from __future__ import annotations

from pathlib import Path

FRAMES = Path(__file__).parent / "frames"


def load_frames(protocol: str) -> list[bytes]:
    """Every frame of ``frames/<protocol>.txt``: text lines as ASCII, ``hex:`` lines decoded;
    ``#`` comment lines (only at the top, before any frame) are skipped."""
    frames: list[bytes] = []
    for line in (FRAMES / f"{protocol}.txt").read_text().splitlines():
        if not line or (line.startswith("# ") and not frames):
            continue
        frames.append(bytes.fromhex(line[4:]) if line.startswith("hex:") else line.encode("ascii"))
    return frames


def frame_starting(protocol: str, prefix: str) -> bytes:
    """The one frame of ``protocol`` whose text (or hex) starts with ``prefix``."""
    found = [
        frame
        for frame in load_frames(protocol)
        if frame.startswith(prefix.encode()) or frame.hex().startswith(prefix)
    ]
    assert len(found) == 1, f"{len(found)} frames start with {prefix!r}"
    return found[0]
