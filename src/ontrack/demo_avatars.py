"""Illustrated portraits for the demo: enrolment photos and check-in photos of nobody.

The demo's photo review puts a check-in photo beside the enrolment photo, so both must look
like a person, and like the *same* person, without being anyone's photo. Each portrait is a
flat illustration drawn with Pillow from a key (the participant and the seed): skin tone,
face shape, hair style and colour, eyebrows, glasses, beard and clothes are drawn from that
key, so the same key always gives the same face. :func:`checkin_photo` draws that face again
as a phone would take it at a check-in: another room behind, another light, held at a
slightly different distance and angle.

No real photograph, no generated likeness of a real person, no network. Plain Pillow, no
Django.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

WIDTH, HEIGHT = 240, 300
_SCALE = 2  # drawn at twice the size and reduced, for smooth edges

# From very light to very dark; (face, shade) pairs.
SKIN_TONES: tuple[tuple[int, int, int], ...] = (
    (255, 224, 196),
    (241, 199, 160),
    (234, 184, 136),
    (214, 160, 110),
    (198, 134, 82),
    (165, 106, 62),
    (130, 84, 50),
    (104, 64, 38),
    (78, 48, 30),
    (58, 38, 26),
)
HAIR_COLOURS: tuple[tuple[int, int, int], ...] = (
    (22, 18, 16),
    (40, 28, 20),
    (66, 42, 26),
    (98, 64, 36),
    (140, 96, 54),
    (186, 146, 88),
    (120, 48, 30),
    (128, 128, 128),
    (210, 210, 205),
)
HAIR_STYLES = ("short", "short", "long", "curly", "bun", "cropped", "bald", "wavy")
CLOTHES: tuple[tuple[int, int, int], ...] = (
    (52, 84, 140),
    (180, 60, 60),
    (60, 130, 90),
    (90, 90, 100),
    (220, 200, 150),
    (120, 70, 130),
    (240, 240, 235),
    (30, 35, 45),
    (200, 120, 50),
)
BACKDROPS: tuple[tuple[int, int, int], ...] = (
    (214, 224, 232),
    (226, 222, 210),
    (204, 214, 204),
    (232, 214, 206),
    (220, 220, 226),
)
ROOMS: tuple[tuple[int, int, int], ...] = (
    (190, 176, 150),
    (160, 178, 190),
    (210, 200, 190),
    (150, 160, 140),
    (230, 225, 215),
    (120, 110, 105),
)


@dataclass(frozen=True, slots=True)
class Face:
    """Everything that makes one portrait's person recognisable from one photo to the next."""

    skin: tuple[int, int, int]
    hair: tuple[int, int, int]
    style: str
    clothes: tuple[int, int, int]
    face_width: int
    face_height: int
    eye_gap: int
    glasses: bool
    beard: bool
    brow_tilt: int


def portrait_key(seed_value: int, case_number: str) -> str:
    """The key of a demo participant's face: the seeder draws the enrolment photo with it,
    the schedule's demo the check-in photos, so both show the same person."""
    return f"{seed_value}:{case_number}"


def face_for(key: str) -> Face:
    """The face drawn for ``key``: the same key, the same face."""
    rng = random.Random(f"face:{key}")
    style = rng.choice(HAIR_STYLES)
    return Face(
        skin=rng.choice(SKIN_TONES),
        hair=rng.choice(HAIR_COLOURS),
        style=style,
        clothes=rng.choice(CLOTHES),
        face_width=rng.randint(92, 112),
        face_height=rng.randint(118, 138),
        eye_gap=rng.randint(19, 25),
        glasses=rng.random() < 0.22,
        beard=style in {"short", "cropped", "bald"} and rng.random() < 0.3,
        brow_tilt=rng.randint(-2, 3),
    )


def _shade(colour: tuple[int, int, int], factor: float) -> tuple[int, int, int]:
    r, g, b = (max(0, min(255, round(c * factor))) for c in colour)
    return (r, g, b)


def _draw_face(face: Face, background: Image.Image) -> Image.Image:
    """The portrait over ``background`` (already ``WIDTH x HEIGHT`` times the scale)."""
    s = _SCALE
    image = background.copy()
    draw = ImageDraw.Draw(image)
    cx, cy = WIDTH // 2 * s, 128 * s
    fw, fh = face.face_width * s // 2, face.face_height * s // 2
    skin, shade = face.skin, _shade(face.skin, 0.86)
    hair = face.hair

    # Shoulders and neck.
    draw.ellipse((cx - 112 * s, 214 * s, cx + 112 * s, 360 * s), fill=face.clothes)
    draw.rectangle((cx - 26 * s, cy + fh - 24 * s, cx + 26 * s, 224 * s), fill=shade)
    draw.chord((cx - 34 * s, 198 * s, cx + 34 * s, 238 * s), 0, 180, fill=shade)
    # Hair that falls behind the head.
    if face.style in {"long", "wavy"}:
        draw.rounded_rectangle(
            (cx - fw - 14 * s, cy - fh - 8 * s, cx + fw + 14 * s, cy + fh + 18 * s),
            radius=40 * s,
            fill=hair,
        )
    if face.style == "curly":
        for dx in range(-fw - 10 * s, fw + 11 * s, 16 * s):
            for dy in (-fh + 4 * s, -fh + 24 * s, -fh + 44 * s):
                if abs(dx) > fw - 20 * s or dy < -fh + 20 * s:
                    draw.ellipse((cx + dx - 15 * s, cy + dy - 15 * s,
                                  cx + dx + 15 * s, cy + dy + 15 * s), fill=hair)  # fmt: skip
    if face.style == "bun":
        draw.ellipse((cx - 24 * s, cy - fh - 34 * s, cx + 24 * s, cy - fh + 12 * s), fill=hair)
    # Ears; the head in the hair's colour, then the face below a curved hairline.
    for side in (-1, 1):
        ex = cx + side * fw
        draw.ellipse((ex - 10 * s, cy - 12 * s, ex + 10 * s, cy + 16 * s), fill=shade)
    hairline = {"bald": 0, "cropped": fh // 6, "curly": fh // 3}.get(face.style, fh // 4)
    if hairline:
        thick = 4 * s if face.style == "cropped" else 9 * s
        draw.ellipse((cx - fw - thick // 3, cy - fh - thick, cx + fw + thick // 3, cy + fh // 2),
                     fill=hair)  # fmt: skip
    draw.ellipse((cx - fw, cy - fh + hairline, cx + fw, cy + fh), fill=skin)
    draw.rectangle((cx - fw, cy - 4 * s, cx + fw, cy + 4 * s), fill=skin)
    draw.ellipse((cx - fw, cy - fh // 2, cx + fw, cy + fh), fill=skin)
    if face.style == "wavy":
        for dx in range(-fw + 6 * s, fw - 12 * s, 20 * s):
            draw.pieslice((cx + dx, cy - fh + hairline - 14 * s, cx + dx + 26 * s,
                           cy - fh + hairline + 12 * s), 0, 180, fill=hair)  # fmt: skip
    # Eyebrows, eyes, nose, mouth.
    eye_y = cy - 6 * s
    gap = face.eye_gap * s
    for side in (-1, 1):
        ex = cx + side * gap
        draw.line(
            (ex - 11 * s, eye_y - 15 * s + side * face.brow_tilt * s,
             ex + 11 * s, eye_y - 15 * s - side * face.brow_tilt * s),
            fill=_shade(hair, 0.8) if face.style != "bald" else _shade(skin, 0.55),
            width=4 * s,
        )  # fmt: skip
        draw.ellipse((ex - 9 * s, eye_y - 5 * s, ex + 9 * s, eye_y + 5 * s), fill=(250, 250, 246))
        draw.ellipse((ex - 5 * s, eye_y - 5 * s, ex + 5 * s, eye_y + 5 * s), fill=(62, 44, 30))
        draw.ellipse((ex - 2 * s, eye_y - 2 * s, ex + 2 * s, eye_y + 2 * s), fill=(10, 10, 10))
        if face.glasses:
            draw.ellipse(
                (ex - 15 * s, eye_y - 12 * s, ex + 15 * s, eye_y + 12 * s),
                outline=(40, 40, 45),
                width=3 * s,
            )
    if face.glasses:
        draw.line((cx - gap + 15 * s, eye_y, cx + gap - 15 * s, eye_y), fill=(40, 40, 45),
                  width=3 * s)  # fmt: skip
    nose = _shade(skin, 0.72)
    draw.line((cx, eye_y + 6 * s, cx - 5 * s, eye_y + 28 * s), fill=nose, width=3 * s)
    draw.line((cx - 5 * s, eye_y + 28 * s, cx + 4 * s, eye_y + 30 * s), fill=nose, width=3 * s)
    if face.beard:
        draw.chord(
            (cx - fw + 4 * s, cy - 6 * s, cx + fw - 4 * s, cy + fh + 4 * s), 0, 180, fill=hair
        )
        draw.ellipse((cx - 18 * s, eye_y + 38 * s, cx + 18 * s, eye_y + 54 * s), fill=skin)
    draw.arc(
        (cx - 16 * s, eye_y + 30 * s, cx + 16 * s, eye_y + 48 * s),
        20,
        160,
        fill=(150, 70, 70),
        width=3 * s,
    )
    return image


def _jpeg(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def enrolment_photo(key: str) -> bytes:
    """The enrolment photo for ``key``: the face on a plain backdrop, as taken at an office."""
    rng = random.Random(f"enrolment:{key}")
    backdrop = Image.new("RGB", (WIDTH * _SCALE, HEIGHT * _SCALE), rng.choice(BACKDROPS))
    image = _draw_face(face_for(key), backdrop)
    return _jpeg(image.reduce(_SCALE), quality=82)


def checkin_photo(key: str, shot: int) -> bytes:
    """The same face as a phone takes it at check-in number ``shot``: a room behind (a wall,
    a door or a window), its own light, a little closer or further and tilted."""
    rng = random.Random(f"checkin:{key}:{shot}")
    size = (WIDTH * _SCALE, HEIGHT * _SCALE)
    wall = rng.choice(ROOMS)
    room = Image.new("RGB", size, wall)
    draw = ImageDraw.Draw(room)
    x = rng.randrange(0, size[0] - 120)
    if rng.random() < 0.5:  # a door frame
        draw.rectangle((x, 40, x + 150, size[1]), outline=_shade(wall, 0.7),
                       width=14)  # fmt: skip
    else:  # a window with daylight
        draw.rectangle((x, 50, x + 170, 230), fill=(236, 242, 248), outline=(250, 250, 250),
                       width=10)  # fmt: skip
    image = _draw_face(face_for(key), room)
    zoom = rng.uniform(1.0, 1.18)
    image = image.rotate(rng.uniform(-6, 6), resample=Image.Resampling.BICUBIC, expand=False,
                         fillcolor=wall)  # fmt: skip
    crop_w, crop_h = round(size[0] / zoom), round(size[1] / zoom)
    left = rng.randrange(0, size[0] - crop_w + 1)
    top = rng.randrange(0, size[1] - crop_h + 1)
    image = image.crop((left, top, left + crop_w, top + crop_h))
    image = image.resize((WIDTH, HEIGHT), Image.Resampling.LANCZOS)
    image = ImageEnhance.Brightness(image).enhance(rng.uniform(0.78, 1.12))
    image = ImageEnhance.Color(image).enhance(rng.uniform(0.8, 1.1))
    if rng.random() < 0.3:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.4, 1.0)))
    return _jpeg(image, quality=rng.randint(62, 80))
