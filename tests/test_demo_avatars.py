"""Demo portraits: a face, the same face at check-in, never a plain square."""

from __future__ import annotations

import io

from PIL import Image

from ontrack.demo_avatars import checkin_photo, enrolment_photo, face_for, portrait_key


def _image(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("RGB")


def test_a_portrait_is_a_drawing_not_a_solid_colour() -> None:
    image = _image(enrolment_photo(portrait_key(2026, "A0000001-86")))
    colours = image.quantize(colors=32).getcolors()
    assert colours is not None
    assert len(colours) >= 8
    assert image.size == (240, 300)


def test_the_same_key_draws_the_same_person_and_check_ins_vary_the_shot() -> None:
    key = portrait_key(2026, "A0000002-46")
    assert enrolment_photo(key) == enrolment_photo(key)
    assert checkin_photo(key, 1) != checkin_photo(key, 2)


def test_skin_tones_and_hair_vary_across_people() -> None:
    faces = [face_for(portrait_key(1, f"A{n:07d}")) for n in range(200)]
    assert len({f.skin for f in faces}) >= 8
    assert len({f.style for f in faces}) >= 6
