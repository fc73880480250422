"""Photos people upload are decoded and re-encoded, never kept or served as sent.

A check-in or enrolment photo is read with Pillow; anything that is not a JPEG, PNG or WebP
photo is refused (an SVG carrying a script, or any bytes labelled ``image/png``, used to be
stored and served back to staff from the app's own origin). What is kept is a new JPEG:
turned upright from its EXIF orientation, at most ``max_side`` pixels on its longer side,
and without any metadata, so that a phone's GPS block or serial numbers never reach staff
or exports. :func:`photo_response` serves a stored photo to staff: as the type we chose,
``nosniff``, never cached, and as a download if an older upload was stored as something else.
"""

from __future__ import annotations

import io
import warnings
from typing import Any

from django.http import FileResponse, HttpResponse
from PIL import Image, ImageOps, UnidentifiedImageError

ACCEPTED_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "MPO"})  # MPO: JPEGs from some phones
CONTENT_TYPE = "image/jpeg"
MAX_PIXELS = 50_000_000  # a 50 MP photo; more is a decompression bomb, not a selfie


class PhotoRefused(ValueError):
    """The upload is not a photo this system keeps; the message says why, for people."""


def photo_reencode(data: bytes, *, max_side: int = 1600, quality: int = 85) -> bytes:
    """The photo as a fresh JPEG without metadata, or :class:`PhotoRefused`."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                if image.format not in ACCEPTED_FORMATS:
                    raise PhotoRefused(
                        f"a {image.format or 'unknown'} file is not a photo; send a JPEG, PNG "
                        "or WebP picture"
                    )
                if image.width * image.height > MAX_PIXELS:
                    raise PhotoRefused("the picture is too large")
                image.load()
                upright = ImageOps.exif_transpose(image)
                upright = upright.convert("RGB")
    except PhotoRefused:
        raise
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        OSError,
        SyntaxError,
        ValueError,
    ) as exc:
        raise PhotoRefused("the file is not a picture that can be read") from exc
    upright.thumbnail((max_side, max_side))
    out = io.BytesIO()
    upright.save(out, format="JPEG", quality=quality, optimize=True)
    return out.getvalue()


SERVED_INLINE = frozenset({"image/jpeg", "image/png", "image/webp"})


def photo_response(photo: Any, content_type: str, filename: str) -> FileResponse:
    """A stored photo for an ``<img>`` on a permission-checked page (the caller checks and
    logs the read)."""
    inline = content_type in SERVED_INLINE
    response = FileResponse(
        photo.open("rb"),
        content_type=content_type if inline else "application/octet-stream",
        as_attachment=not inline,
        filename=filename,
    )
    if inline:
        response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


THUMBNAIL_SIDE = 160


def photo_thumbnail_response(photo: Any) -> HttpResponse:
    """A small JPEG of a stored photo (a timeline's thumbnail), made on the fly: stored
    photos are already our own re-encoded JPEGs, so Pillow's draft mode decodes them at a
    fraction of their size and this stays cheap. Served like :func:`photo_response`, but
    cacheable by this browser for a while (it is the same picture every time).
    :class:`PhotoRefused` when the stored file cannot be read as a picture."""
    with photo.open("rb") as handle:
        data = handle.read()
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_PIXELS:
                raise ValueError("too large")
            image.draft("RGB", (THUMBNAIL_SIDE, THUMBNAIL_SIDE))
            small = image.convert("RGB")
            small.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
            out = io.BytesIO()
            small.save(out, format="JPEG", quality=75)
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError) as exc:
        raise PhotoRefused("the stored photo cannot be read") from exc
    response = HttpResponse(out.getvalue(), content_type=CONTENT_TYPE)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=600"
    return response
