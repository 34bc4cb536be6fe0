"""QR codes as inline SVG (segno: pure Python, no image library, prints sharp at any size)."""

from __future__ import annotations

import segno


def svg(url: str, *, scale: int = 6) -> str:
    """An SVG document of the QR code for ``url`` (error correction M: survives a scuffed
    print on a courtyard board)."""
    return str(
        segno.make(url, error="m", micro=False).svg_inline(scale=scale, dark="#1f1f1f", border=2)
    )
