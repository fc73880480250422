"""The H02, Watch, TK103, Queclink, Meitrack and Suntech decoders and splitters, fed mutated
real frames and random bytes, raise ``DecodeError`` and nothing else, and lose no byte.

The mutation loop (``test_fuzz_decoders.mutate``: bit flips, insertions, splices, text
tokens...) starts from the real frames in ``frames/``; ``ONTRACK_FUZZ_INPUTS`` sets how many
inputs each decoder gets (5000 by default, enough for the CI budget; raise it to explore)
and ``ONTRACK_FUZZ_SEED`` the seed, so that a failure reproduces.
"""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Callable
from datetime import UTC, datetime
from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ontrack.tracking.protocols import h02, meitrack, queclink, suntech, tk103, watch
from ontrack.tracking.protocols.records import DecodeError
from tests.tracking.protocols.frame_files import load_frames
from tests.tracking.protocols.test_fuzz_decoders import check_records, mutate

INPUTS = int(os.environ.get("ONTRACK_FUZZ_INPUTS", "5000"))
SEED = int(os.environ.get("ONTRACK_FUZZ_SEED", "20240501"))
NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
MODULES = {"h02": h02, "watch": watch, "tk103": tk103, "queclink": queclink,
           "meitrack": meitrack, "suntech": suntech}  # fmt: skip
# What ends a frame in the stream tests (the fixture files leave line ends off).
LINE_ENDS = {"meitrack": b"\r\n", "suntech": b"\r"}


def run(module: ModuleType, data: bytes) -> None:
    """Split ``data`` (no byte lost), then decode it whole and each frame found in it."""
    frames, rest, skipped = module.split_frames(data)
    assert sum(map(len, frames)) + len(rest) + skipped <= len(data)
    for candidate in [data, *frames]:
        with contextlib.suppress(DecodeError):
            result = module.decode(candidate, time_offset_minutes=480, now=NOW)
            check_records(result.records)
            assert isinstance(result.identifier, str)
    module.decode(data, now=NOW)


def fuzz(module: ModuleType, corpus: list[bytes]) -> int:
    rng = random.Random(SEED)
    decoded = 0
    for _ in range(INPUTS):
        data = mutate(rng, rng.choice(corpus), corpus, text=rng.random() < 0.5)
        try:
            run(module, data)
        except DecodeError:
            continue
        except Exception as error:  # pragma: no cover - the failure message is the point
            raise AssertionError(f"{type(error).__name__}: {error} for {data!r}") from error
        decoded += 1
    return decoded


@pytest.mark.parametrize("name", sorted(MODULES))
def test_mutated_real_frames_raise_only_decode_errors(name: str) -> None:
    decoded = fuzz(MODULES[name], load_frames(name))

    assert decoded > INPUTS // 20, "mutations should still reach the message parsers"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_raise_only_decode_errors(data: bytes) -> None:
    for module in MODULES.values():
        with contextlib.suppress(DecodeError):
            run(module, data)


def _stream_test(name: str) -> Callable[..., None]:
    """A stream cut in two splits into the frames the whole stream splits into. (Text frames
    only for H02: a binary frame cut right after its 32nd byte is taken as a short one; see
    ``h02.split_frames``.)"""
    end = LINE_ENDS.get(name, b"")
    corpus = [frame + end for frame in load_frames(name) if name != "h02" or frame[:1] != b"$"]
    module = MODULES[name]

    @settings(max_examples=150, deadline=None)
    @given(st.lists(st.sampled_from(corpus) | st.binary(max_size=20), max_size=10), st.data())
    def check(pieces: list[bytes], data: st.DataObject) -> None:
        stream = b"".join(pieces)
        cut = data.draw(st.integers(0, len(stream)))
        first = module.split_frames(stream[:cut])
        second = module.split_frames(first.rest + stream[cut:])
        whole = module.split_frames(stream)
        assert sum(map(len, whole.frames)) + len(whole.rest) + whole.skipped <= len(stream)
        assert first.frames + second.frames == whole.frames

    return check


test_h02_splitter_finds_every_frame_however_the_stream_is_cut = _stream_test("h02")
test_watch_splitter_finds_every_frame_however_the_stream_is_cut = _stream_test("watch")
test_tk103_splitter_finds_every_frame_however_the_stream_is_cut = _stream_test("tk103")
test_queclink_splitter_finds_every_frame_however_the_stream_is_cut = _stream_test("queclink")
test_meitrack_splitter_finds_every_frame_however_the_stream_is_cut = _stream_test("meitrack")
test_suntech_splitter_finds_every_frame_however_the_stream_is_cut = _stream_test("suntech")
