"""Fonts of the report's plots, so that any student id can be drawn.

Student ids come from file names and may be Chinese (王小明). matplotlib's
default font, DejaVu Sans, has no CJK glyphs: it draws boxes and warns once
per missing glyph. :func:`families` puts the CJK fonts found on this machine
after DejaVu Sans (matplotlib >= 3.6 takes each glyph from the first family
that has it); :func:`drawable` writes a character that none of them has as
its escape (``\\u738b``), so a label is always readable and no warning is
printed. Installing a CJK font (Debian/Ubuntu: ``apt-get install
fonts-noto-cjk``, or ``fonts-wqy-zenhei``) makes the ids show as written.
"""

from contextlib import contextmanager
from functools import cache

BASE = "DejaVu Sans"              # matplotlib's own font: Latin, Greek, Cyrillic, symbols
CJK_FALLBACKS = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans SC", "Source Han Sans SC",
                 "Source Han Sans CN", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei",
                 "Droid Sans Fallback", "AR PL UMing CN", "AR PL UKai CN")


@cache
def _installed():
    """{family: set of code points} of BASE and the CJK fallbacks found."""
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    found = {}
    for entry in font_manager.fontManager.ttflist:
        if entry.name in (BASE, *CJK_FALLBACKS) and entry.name not in found:
            try:
                found[entry.name] = set(FT2Font(entry.fname).get_charmap())
            except (OSError, RuntimeError, ValueError):
                continue
    return found


def families():
    """The font families a plot's text uses, in order of preference."""
    installed = _installed()
    return [BASE] + [name for name in CJK_FALLBACKS if name in installed]


def drawable(text):
    """``text`` with each character that no font of :func:`families` has (and
    each lone surrogate of a non-UTF-8 file name) written as its escape."""
    covered = _installed()

    def char(c):
        if (c.isascii() and c.isprintable()) or c.isspace() or any(ord(c) in points for points in covered.values()):
            return c
        return c.encode("unicode_escape", "backslashreplace").decode("ascii")

    return "".join(char(c) for c in str(text))


@contextmanager
def plotting():
    """matplotlib settings for the report's plots (use around making and saving).
    font_manager's notes on the weights a CJK font lacks ("Failed to find font
    weight normal ... now using 500") are not printed: the nearest weight is fine."""
    import logging

    import matplotlib

    logger = logging.getLogger("matplotlib.font_manager")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with matplotlib.rc_context({"font.family": families()}):
            yield
    finally:
        logger.setLevel(level)
