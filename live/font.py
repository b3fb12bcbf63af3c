"""A tiny bitmap font drawn straight into a frame's luma plane (no font files, no Pillow).

Latin capitals, digits and a few signs are 5x7 cells; the slate's eight Hangul syllables
("잠시 후 다시 시작합니다") are 11x11 cells drawn by hand. `draw_text` paints white glyphs on a
black box; `draw_bits` paints a row of black/white blocks that carries a number (the burnt-in
clock that the latency benchmark reads back from the decoded picture).
"""

from __future__ import annotations

import av

_LATIN: dict[str, tuple[str, ...]] = {
    "0": ("01110", "10001", "10011", "10101", "11001", "10001", "01110"),
    "1": ("00100", "01100", "00100", "00100", "00100", "00100", "01110"),
    "2": ("01110", "10001", "00001", "00010", "00100", "01000", "11111"),
    "3": ("11110", "00001", "00001", "01110", "00001", "00001", "11110"),
    "4": ("00010", "00110", "01010", "10010", "11111", "00010", "00010"),
    "5": ("11111", "10000", "11110", "00001", "00001", "10001", "01110"),
    "6": ("00110", "01000", "10000", "11110", "10001", "10001", "01110"),
    "7": ("11111", "00001", "00010", "00100", "01000", "01000", "01000"),
    "8": ("01110", "10001", "10001", "01110", "10001", "10001", "01110"),
    "9": ("01110", "10001", "10001", "01111", "00001", "00010", "01100"),
    ":": ("00000", "01100", "01100", "00000", "01100", "01100", "00000"),
    ".": ("00000", "00000", "00000", "00000", "00000", "01100", "01100"),
    "-": ("00000", "00000", "00000", "11111", "00000", "00000", "00000"),
    "'": ("00100", "00100", "01000", "00000", "00000", "00000", "00000"),
    "/": ("00001", "00010", "00010", "00100", "01000", "01000", "10000"),
    " ": ("00000",) * 7,
    "A": ("01110", "10001", "10001", "11111", "10001", "10001", "10001"),
    "B": ("11110", "10001", "10001", "11110", "10001", "10001", "11110"),
    "C": ("01110", "10001", "10000", "10000", "10000", "10001", "01110"),
    "D": ("11110", "10001", "10001", "10001", "10001", "10001", "11110"),
    "E": ("11111", "10000", "10000", "11110", "10000", "10000", "11111"),
    "G": ("01110", "10001", "10000", "10111", "10001", "10001", "01111"),
    "H": ("10001", "10001", "10001", "11111", "10001", "10001", "10001"),
    "I": ("01110", "00100", "00100", "00100", "00100", "00100", "01110"),
    "K": ("10001", "10010", "10100", "11000", "10100", "10010", "10001"),
    "L": ("10000", "10000", "10000", "10000", "10000", "10000", "11111"),
    "M": ("10001", "11011", "10101", "10101", "10001", "10001", "10001"),
    "N": ("10001", "11001", "10101", "10011", "10001", "10001", "10001"),
    "O": ("01110", "10001", "10001", "10001", "10001", "10001", "01110"),
    "P": ("11110", "10001", "10001", "11110", "10000", "10000", "10000"),
    "R": ("11110", "10001", "10001", "11110", "10100", "10010", "10001"),
    "S": ("01111", "10000", "10000", "01110", "00001", "00001", "11110"),
    "T": ("11111", "00100", "00100", "00100", "00100", "00100", "00100"),
    "U": ("10001", "10001", "10001", "10001", "10001", "10001", "01110"),
    "V": ("10001", "10001", "10001", "10001", "10001", "01010", "00100"),
    "W": ("10001", "10001", "10001", "10101", "10101", "10101", "01010"),
    "Y": ("10001", "10001", "01010", "00100", "00100", "00100", "00100"),
}

_HANGUL: dict[str, tuple[str, ...]] = {
    "잠": ("11111100100", "00010000100", "00101000111", "01000100100", "10000010100",
           "00000000000", "01111111100", "01000000100", "01000000100", "01111111100",
           "00000000000"),
    "시": ("00000100010", "00001000010", "00001000010", "00010100010", "00100010010",
           "01000001010", "10000000010", "00000000010", "00000000010", "00000000010",
           "00000000010"),
    "후": ("00001110000", "01111111110", "00000000000", "00011111000", "00100000100",
           "00011111000", "00000000000", "11111111111", "00000100000", "00000100000",
           "00000100000"),
    "다": ("11111100100", "10000000100", "10000000100", "10000000111", "10000000100",
           "10000000100", "10000000100", "11111100100", "00000000100", "00000000100",
           "00000000100"),
    "작": ("11111100100", "00010000100", "00101000111", "01000100100", "10000010100",
           "00000000000", "01111111100", "00000000100", "00000000100", "00000000100",
           "00000000000"),
    "합": ("00011000100", "11111100100", "01111000111", "10000100100", "01111000100",
           "00000000000", "01000000100", "01111111100", "01000000100", "01111111100",
           "00000000000"),
    "니": ("10000000010", "10000000010", "10000000010", "10000000010", "10000000010",
           "10000000010", "10000000010", "11111100010", "00000000010", "00000000010",
           "00000000010"),
}


def _glyph(ch: str) -> tuple[str, ...]:
    return _HANGUL.get(ch) or _LATIN.get(ch.upper()) or _LATIN[" "]


def text_size(text: str, scale: int) -> tuple[int, int]:
    """Width and height in pixels of `text` drawn at `scale` (one glyph cell = scale pixels)."""
    width = 0
    height = 7
    for ch in text:
        rows = _glyph(ch)
        width += len(rows[0]) + 1
        height = max(height, len(rows))
    return width * scale, height * scale


def _fill(frame: av.VideoFrame, x: int, y: int, w: int, h: int, luma: int) -> None:
    """Paint a rectangle (clipped) in luma with neutral chroma."""
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(frame.width, x + w), min(frame.height, y + h)
    if x1 <= x0 or y1 <= y0:
        return
    planes = frame.planes
    ymem = memoryview(planes[0])
    stride = planes[0].line_size
    row = bytes([luma]) * (x1 - x0)
    for yy in range(y0, y1):
        ymem[yy * stride + x0 : yy * stride + x1] = row
    for index in (1, 2):
        cmem = memoryview(planes[index])
        cstride = planes[index].line_size
        cx0, cx1 = x0 // 2, (x1 + 1) // 2
        crow = b"\x80" * (cx1 - cx0)
        for yy in range(y0 // 2, (y1 + 1) // 2):
            cmem[yy * cstride + cx0 : yy * cstride + cx1] = crow


def draw_text(frame: av.VideoFrame, text: str, x: int, y: int, scale: int, pad: int | None = None) -> None:
    """White `text` on a black box whose top-left corner is (x, y)."""
    width, height = text_size(text, scale)
    pad = scale if pad is None else pad
    _fill(frame, x, y, width + 2 * pad, height + 2 * pad, 16)
    plane = frame.planes[0]
    ymem = memoryview(plane)
    stride = plane.line_size
    cx = x + pad
    for ch in text:
        rows = _glyph(ch)
        for r, bits in enumerate(rows):
            for c, bit in enumerate(bits):
                if bit != "1":
                    continue
                px0, px1 = max(0, cx + c * scale), min(frame.width, cx + (c + 1) * scale)
                if px1 <= px0:
                    continue
                white = b"\xeb" * (px1 - px0)
                for yy in range(y + pad + r * scale, y + pad + (r + 1) * scale):
                    if 0 <= yy < frame.height:
                        ymem[yy * stride + px0 : yy * stride + px1] = white
        cx += (len(rows[0]) + 1) * scale


BITS = 40


def bits_cell(height: int) -> int:
    """The block size of the burnt-in clock for a picture of this height."""
    return max(4, height // 30)


def draw_bits(frame: av.VideoFrame, value: int, bits: int = BITS) -> None:
    """A row of `bits` blocks (most significant first) at the top left, white = 1, framed in grey."""
    cell = bits_cell(frame.height)
    _fill(frame, 0, 0, cell * (bits + 2), cell * 3, 128)
    for i in range(bits):
        on = (value >> (bits - 1 - i)) & 1
        _fill(frame, cell * (i + 1), cell, cell, cell, 235 if on else 16)


def read_bits(frame: av.VideoFrame, bits: int = BITS) -> int:
    """The number drawn by `draw_bits`, read back from a decoded (maybe scaled) picture."""
    cell = bits_cell(frame.height)
    plane = frame.planes[0]
    ymem = memoryview(plane)
    stride = plane.line_size
    value = 0
    yy = cell + cell // 2
    for i in range(bits):
        xx = cell * (i + 1) + cell // 2
        value = (value << 1) | (1 if ymem[yy * stride + xx] > 128 else 0)
    return value


def age_ms(stamp: int, now_ms: int, bits: int = BITS) -> int:
    """Milliseconds from a burnt-in `stamp` (wall clock modulo 2^bits) to `now_ms`."""
    return (now_ms - stamp) % (1 << bits)
