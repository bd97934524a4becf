"""Words with positions from a PDF's text layer, from pypdfium2 (fast) or pdfplumber.

Both engines give the same thing: per page, whitespace-separated words with their left and
right edges and a baseline-ish `y` (from the top of the page), in points. Everything after
this module is engine-blind, so the two engines give the same lines.

pypdfium2 speed: one `FPDFText_GetText` for the page, then a loose char box for each word's
first char and one for its last (none more for a one-char word); per-char boxes for every
char cost 3x as much. Font size and weight are looked up only for the words that start a
line, and only for the lines that ask (`PageText.style`, or `.size` and `.bold` alone: one call each).
"""

from __future__ import annotations

import ctypes
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterator

_WORD = re.compile(r"\S+")


class PdfOpenError(Exception):
    """The file can't be read as a PDF; the message says why in words a person can act on."""


# A word is a plain tuple, (text, x0, x1, y, h, ref): there are ~500 a page and a class
# costs a third of the time it takes pdfium to find them. y is the bottom of the text box
# from the top of the page, h its height (about the font size), ref the engine's handle for
# the style lookup (pdfium: char index).
Word = tuple
TEXT, X0, X1, Y, H, REF = range(6)


@dataclass
class PageText:
    number: int  # 1-based
    words: list[Word]
    has_images: bool = False  # only looked at when the page has no text
    style: Callable[[Word], tuple[float, bool]] = field(default=lambda w: (w[H], False), repr=False)
    error: str = ""  # why the engine could not read this page (the rest of the file may be fine)
    # the font size alone (style(w)[0]), and the weight alone (style(w)[1]), when the engine
    # has each cheaper than both
    size: Callable[[Word], float] | None = field(default=None, repr=False)
    bold: Callable[[Word], bool] | None = field(default=None, repr=False)


def open_pages(path: Path, password: str | None = None, engine: str = "pdfium") -> tuple[int, Iterator[PageText]]:
    """(page count, pages one at a time). Raises PdfOpenError when the file can't be opened."""
    _sniff(path)
    if engine == "pdfium":
        return _pdfium_pages(path, password)
    if engine == "pdfplumber":
        return _plumber_pages(path, password)
    raise ValueError(f"unknown PDF engine {engine!r} (pdfium or pdfplumber)")


PDF_HEADER_WITHIN = 1024  # PDF readers accept junk before the %PDF- header, up to 1 KB


def _sniff(path: Path) -> None:
    """Name what is plainly no PDF (empty, another kind of file) before an engine calls it corrupt."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(PDF_HEADER_WITHIN)
    except FileNotFoundError:
        raise PdfOpenError("file not found") from None
    except OSError as e:
        raise PdfOpenError(f"cannot open the file ({e.strerror})") from None
    if not head:
        raise PdfOpenError("the file is empty (0 bytes)")
    if b"%PDF-" not in head:
        raise PdfOpenError("not a PDF: it has no PDF header (another kind of file named .pdf?)")


# --- pypdfium2 -------------------------------------------------------------------------

def _pdfium_pages(path: Path, password: str | None):
    import pypdfium2 as pdfium

    try:
        doc = pdfium.PdfDocument(path, password=password)
    except pdfium.PdfiumError as e:
        raise PdfOpenError(_pdfium_reason(getattr(e, "err_code", None), password)) from None
    except FileNotFoundError:
        raise PdfOpenError("file not found") from None
    return len(doc), _pdfium_iter(doc)


def _pdfium_reason(code, password) -> str:
    if code == 4:  # FPDF_ERR_PASSWORD
        return ("the PDF is encrypted and the password given is wrong" if password
                else "the PDF is encrypted: give its password")
    if code == 5:
        return "the PDF's security handler is not supported"
    return "not a readable PDF (truncated or corrupt, or not a PDF at all)"


def _pdfium_iter(doc) -> Iterator[PageText]:
    import pypdfium2.raw as raw

    try:
        for i in range(len(doc)):
            page = doc[i]
            try:
                tp = page.get_textpage()
            except Exception as e:  # pdfium can fail on a damaged page; the rest may be fine
                yield PageText(i + 1, [], error=f"its text could not be read ({type(e).__name__}: {e})")
                continue
            words = _pdfium_words(raw, tp, page.get_height())
            has_images = not words and _has_objects(page)
            style, size, bold = _pdfium_style(raw, tp)
            yield PageText(i + 1, words, has_images, style, size=size, bold=bold)
    finally:
        doc.close()


def _pdfium_words(raw, tp, page_h: float) -> list[Word]:
    n = tp.count_chars()
    if n <= 0:
        return []
    text = tp.get_text_range(0, n)
    h = _handle(tp)
    box = raw.FS_RECTF()
    pbox = ctypes.byref(box)
    # the box's floats (left, top, right, bottom) read through a memoryview: cheaper than
    # the structure's fields, the same values
    ltrb = memoryview(box).cast("B").cast("f")
    loose = _LOOSE_BOX or raw.FPDFText_GetLooseCharBox
    out = []
    add = out.append
    if len(text) == n:  # text index == char index: true for nearly every PDF
        # str.split() splits where \S+ does; each word is found from the end of the last
        # (only whitespace lies between), cheaper than a regex match object per word
        find = text.find
        j = 0
        for word in text.split():
            i = find(word, j)
            j = i + len(word)
            loose(h, i, pbox)
            x0, top, x1, bottom = ltrb
            if j - i > 1:  # a one-char word's box is its first char's
                loose(h, j - 1, pbox)
                x1 = ltrb[2]
            add((word, x0, x1, page_h - bottom, top - bottom, i))
        return out
    to_char = raw.FPDFText_GetCharIndexFromTextIndex
    for m in _WORD.finditer(text):
        i, j = to_char(tp.raw, m.start()), to_char(tp.raw, m.end() - 1)
        if i < 0 or j < 0:
            continue
        loose(h, i, pbox)
        x0, top, bottom = box.left, box.top, box.bottom
        loose(h, j, pbox)
        add((m.group(), x0, box.right, page_h - bottom, top - bottom, i))
    return out


def _handle(tp):
    """The text page's handle as a ready-made ctypes argument: a c_void_p would be converted
    into one on every call (a fifth of the call's cost)."""
    return ctypes.c_void_p.from_param(ctypes.cast(tp.raw, ctypes.c_void_p).value)


def _bare(name: str, restype):
    """A pdfium function without ctypes' per-call argument checks (2-3x faster a call).
    Every argument must then be passed as its C type: a text page handle as c_void_p, ints
    as int, pointers by byref."""
    try:
        from pypdfium2_raw.bindings import _libs

        fn = _libs["pdfium"][name]
        fn.restype = restype
        return fn
    except Exception:  # a pypdfium2 without that layout: the checked function still works
        return None


_LOOSE_BOX = _bare("FPDFText_GetLooseCharBox", ctypes.c_int)
_FONT_SIZE = _bare("FPDFText_GetFontSize", ctypes.c_double)
_FONT_INFO = _bare("FPDFText_GetFontInfo", ctypes.c_ulong)


def _pdfium_style(raw, tp):
    """(style, size, bold) for the page's words: font size and weight, the size alone, the
    weight alone."""
    buf = ctypes.create_string_buffer(128)
    buflen = ctypes.c_ulong(128)
    flags = ctypes.c_int()
    pflags = ctypes.byref(flags)
    if _FONT_SIZE is not None and _FONT_INFO is not None:
        get_size, get_info = _FONT_SIZE, _FONT_INFO
    else:
        get_size, get_info = raw.FPDFText_GetFontSize, raw.FPDFText_GetFontInfo

    # the handle is read at each call: once the page is closed it is None (pdfium answers 0
    # for no text page), never a dangling pointer
    def size(w: Word) -> float:
        return round(get_size(tp.raw, w[REF]), 1)

    def bold(w: Word) -> bool:
        get_info(tp.raw, w[REF], buf, buflen, pflags)
        return _is_bold_font(buf.value, flags.value)

    def style(w: Word) -> tuple[float, bool]:
        return size(w), bold(w)

    return style, size, bold


def _has_objects(page) -> bool:
    try:
        return any(True for _ in page.get_objects(max_depth=1))
    except Exception:
        return False


@lru_cache(maxsize=1024)
def _is_bold_font(raw_name: bytes, flags: int) -> bool:
    """_is_bold of pdfium's font name, once per font (a page has a few)."""
    return _is_bold(raw_name.decode("latin-1"), flags)


def _is_bold(font_name: str, flags: int = 0) -> bool:
    name = font_name.lower()
    return bool(flags & (1 << 18)) or any(k in name for k in ("bold", "black", "heavy", "semibold"))


# --- pdfplumber ------------------------------------------------------------------------

def _plumber_pages(path: Path, password: str | None):
    import pdfplumber

    try:
        pdf = pdfplumber.open(path, password=password or "")
        count = len(pdf.pages)
    except FileNotFoundError:
        raise PdfOpenError("file not found") from None
    except Exception as e:  # pdfminer raises many kinds; all mean "can't open"
        name = " ".join(type(x).__name__ for x in (e, *e.args))  # pdfplumber wraps pdfminer's
        if "Password" in name or "Encrypt" in name:
            raise PdfOpenError(_pdfium_reason(4, password)) from None
        raise PdfOpenError(_pdfium_reason(None, password)) from None
    return count, _plumber_iter(pdf)


def _plumber_iter(pdf) -> Iterator[PageText]:
    try:
        for i, page in enumerate(pdf.pages):
            try:
                raw_words = page.extract_words(extra_attrs=["size", "fontname"])
            except Exception as e:
                yield PageText(i + 1, [], error=f"its text could not be read ({type(e).__name__}: {e})")
                continue
            words = [(w["text"], w["x0"], w["x1"], w["bottom"], w["bottom"] - w["top"], k)
                     for k, w in enumerate(raw_words)]
            styles = [(round(w["size"], 1), _is_bold(w["fontname"])) for w in raw_words]
            has_images = not words and bool(page.images or page.rects or page.curves)
            yield PageText(i + 1, words, has_images, lambda w, s=styles: s[w[REF]])
            page.close()
    finally:
        pdf.close()
