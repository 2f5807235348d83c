"""The admin's branding as design tokens: ``GET /branding.css`` overrides Atlassian's brand tokens.

Every component in ``static/deskgate.css`` takes its colours from the ``--ds-*`` tokens, so overriding the
brand ones here recolours the header, the primary buttons, the links and the focus ring at once. Colours
are chosen for contrast (WCAG 2): the text on a brand-coloured button is white or dark, whichever reads
better; a link darkens (or lightens) the accent until it reads on the page background; hover and press
states move away from the page. The CSP forbids inline styles, so this is a stylesheet of its own.
"""

from __future__ import annotations

from deskgate.login.page import Branding

# The token values the contrast is measured against (atlassian-light, @atlaskit/tokens 20.7.0).
WHITE = "#ffffff"
TEXT = "#292a2e"  # --ds-text
SURFACE = "#ffffff"  # --ds-surface: cards, where most links are
PAGE = "#f8f8f8"  # --ds-surface-sunken: the page background
READABLE = 4.5  # WCAG 2 AA for body text
# The tokens' own selector is html[data-color-mode=...][data-theme~=...]: one more part wins whatever the
# order the stylesheets load in.
SELECTOR = 'html[data-color-mode="light"][data-theme~="light:light"]:root'


def _rgb(colour: str) -> tuple[float, float, float]:
    return int(colour[1:3], 16) / 255, int(colour[3:5], 16) / 255, int(colour[5:7], 16) / 255


def _hex(rgb: tuple[float, float, float]) -> str:
    return "#" + "".join(f"{round(min(max(c, 0.0), 1.0) * 255):02x}" for c in rgb)


def luminance(colour: str) -> float:
    """WCAG 2 relative luminance of a #rrggbb colour."""
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in _rgb(colour)]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio, 1 to 21."""
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def mix(colour: str, other: str, amount: float) -> str:
    """`colour` moved `amount` (0..1) of the way to `other`."""
    return _hex(tuple(c + (o - c) * amount for c, o in zip(_rgb(colour), _rgb(other), strict=True)))  # type: ignore[arg-type]


def readable_on(colour: str, background: str) -> str:
    """`colour`, darkened (or lightened, on a dark background) step by step until it reads on `background`."""
    target = "#000000" if luminance(background) > 0.18 else WHITE
    for step in range(21):
        candidate = mix(colour, target, step / 20)
        if contrast(candidate, background) >= READABLE:
            return candidate
    return target


def text_on(colour: str) -> str:
    """The token for text on a `colour` background: white, or the dark body text, whichever reads better."""
    return "var(--ds-text-inverse)" if contrast(colour, WHITE) >= contrast(colour, TEXT) else "var(--ds-text)"


def brand_tokens(branding: Branding) -> str:
    """The stylesheet: the brand tokens derived from the accent, the page background from the background."""
    rules: dict[str, str] = {}
    page = branding.background_color or PAGE
    if branding.background_color:
        rules["--dg-page"] = page
        rules["--dg-text-on-page"] = text_on(page)
    if branding.accent_color:
        accent = branding.accent_color
        # Hover and press go darker, except on an accent so dark that darker would not show.
        away = "#000000" if luminance(accent) > 0.03 else WHITE
        # Links sit on cards (white) and on a light page: one that reads on the page reads on white too.
        # On a dark page the header and navigation take --dg-text-on-page; links are for the cards.
        link = readable_on(accent, page if luminance(page) > 0.18 else SURFACE)
        rules |= {
            "--ds-background-brand-bold": accent,
            "--ds-background-brand-bold-hovered": mix(accent, away, 0.15),
            "--ds-background-brand-bold-pressed": mix(accent, away, 0.3),
            "--dg-text-on-brand": text_on(accent),
            "--ds-border-brand": accent,
            "--ds-link": link,
            "--ds-link-pressed": mix(link, "#000000", 0.2),
            "--ds-text-brand": link,
            "--ds-border-focused": link,
        }
    if not rules:
        return "/* Deskgate's default look */\n"
    body = "\n".join(f"  {name}: {value};" for name, value in rules.items())
    return f"{SELECTOR} {{\n{body}\n}}\n"
