"""The page around the views: which layout and theme a screen gets, and the template that holds them.

Three places watch the dashboard, and one page serves all of them:

* **desktop** (≥ 701 px wide): controls and legend in a sidebar, the flow graph
  beside the numbers, the chart below;
* **phone** (≤ 700 px): the same page in one column, graph first, no horizontal
  scroll; the sidebar becomes a drawer that starts closed (CSS media queries,
  :data:`PAGE_CSS`, and a script that closes it when the page opens narrow);
* **wall** (a wall screen): no sidebar and nothing to click, the flow graph fills
  the left of the screen, large numbers and the chart on the right without
  scrolling. Chosen by ``display.mode: wall`` in the config, ``?display=wall`` in
  the URL, and always on a read-only server.

The theme is ``display.theme`` or ``?theme=dark|light`` (the header's toggle
sets it). An unknown URL value is ignored and the configured one is used, so a
hand-typed address never breaks the page.

Every asset comes from the server: the design is Panel's Fast design without
its Google Fonts link (:class:`Fast`), and text uses the system's fonts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar

import panel as pn
from bokeh.models import CustomJS
from panel.theme import fast

from leg_sim.ui import theme

#: Layouts a screen can ask for, and themes.
DISPLAY_MODES = ("standard", "wall")
THEMES = ("light", "dark")
#: What the URL may say for a theme, and what it means (Panel's toggle writes "default").
_THEME_WORDS = {"light": "light", "default": "light", "dark": "dark"}
#: Widest screen that gets the phone layout. [px]
PHONE_MAX_PX = 700
#: The system's fonts: nothing to download.
FONT_STACK = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"


@dataclasses.dataclass(frozen=True)
class PageChoice:
    """Layout and theme of one session's page."""

    display: str = "standard"  # one of DISPLAY_MODES
    theme: str = "light"  # one of THEMES

    @property
    def wall(self) -> bool:
        """True for the wall-screen layout."""
        return self.display == "wall"

    @property
    def dark(self) -> bool:
        """True for the dark theme."""
        return self.theme == "dark"


def _arg(args: Mapping[str, Any], name: str) -> str | None:
    values = args.get(name) or []
    if not values:
        return None
    value = values[0]
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return text.strip().strip("'\"").lower()[:20]


def page_choice(display: str = "standard", theme_name: str = "light", read_only: bool = False, args: Mapping[str, Any] | None = None) -> PageChoice:
    """The page for one session (pure): the URL's ``display`` and ``theme`` override the
    configured ones when they are known words; a read-only server always shows the wall layout.

    Parameters
    ----------
    display, theme_name
        The configured ``display.mode`` and ``display.theme``.
    read_only
        True when the server has no controls.
    args
        The page URL's query arguments, as Panel gives them (name → list of bytes).
    """
    args = args or {}
    asked_display = _arg(args, "display")
    asked_theme = _THEME_WORDS.get(_arg(args, "theme") or "")
    chosen_display = asked_display if asked_display in DISPLAY_MODES else display
    chosen_theme = asked_theme or theme_name
    if read_only:
        chosen_display = "wall"
    return PageChoice(
        display=chosen_display if chosen_display in DISPLAY_MODES else "standard",
        theme=chosen_theme if chosen_theme in THEMES else "light",
    )


class Fast(fast.Fast):
    """Panel's Fast design without its Google Fonts stylesheet, so the page loads nothing from the
    internet. It keeps the name ``Fast``: Panel finds a design's bundled files by its class name."""

    _resources: ClassVar[Any] = {key: value for key, value in fast.Fast._resources.items() if key != "font"}


class LegTemplate(pn.template.FastListTemplate):
    """The Fast list template with the theme chosen by :func:`page_choice`, not by Panel's own
    reading of ``?theme=`` (which fails on an unknown word)."""

    @staticmethod
    def _get_theme_from_query_args() -> None:
        return None


#: Page-wide CSS (the template's head, outside the views' shadow DOM).
PAGE_CSS = f"""
html, body {{ max-width: 100vw; }}
#main {{ padding: 0 12px; box-sizing: border-box; overflow-x: hidden; }}
.leg-section {{ min-width: 0; }}
@media screen and (max-width: {PHONE_MAX_PX}px) {{
  #header {{ padding: 6px; }}
  .title {{ font-size: 1.3em; margin-left: 0.2em; }}
  #main {{ padding: 0 4px; }}
  #main fast-card.pn-wrapper {{ padding: 6px; }}
  #sidebar {{ position: fixed; top: 56px; left: 0; bottom: 0; z-index: 30; width: min(300px, 85vw);
             min-width: 0 !important; max-width: 85vw !important; height: auto;
             background: var(--background-color); box-shadow: 2px 0 12px rgba(0,0,0,.35); }}
  #sidebar.hidden {{ max-width: 0 !important; padding: 0; border: 0; box-shadow: none; overflow: hidden; }}
}}
"""

#: Extra CSS of the wall layout.
WALL_CSS = """
#main { padding: 0 1vw; overflow: hidden; }
#header { height: 40px; }
#content { height: calc(100vh - 60px); }
"""

#: Closes the sidebar when the page opens on a phone-sized screen (it is a drawer there).
#: Closes the controls' drawer on a phone once the page is drawn (a session's page runs it on
#: ``document_ready``, a page without a session from its feed script).
CLOSE_DRAWER_JS = f"""
if (window.matchMedia("(max-width: {PHONE_MAX_PX}px)").matches && typeof closeNav === "function") {{ closeNav(); }}
"""


def close_drawer_on_phones() -> CustomJS:
    """Browser script for the document's ``document_ready`` event (see :data:`CLOSE_DRAWER_JS`)."""
    return CustomJS(code=CLOSE_DRAWER_JS)


def make_template(choice: PageChoice, title: str, main: list, sidebar: list) -> LegTemplate:
    """The page for `choice`: `main` in the main area, `sidebar` in the sidebar (none on a wall)."""
    raw_css = [PAGE_CSS, theme.css_variables(choice.theme)] + ([WALL_CSS] if choice.wall else [])
    template = LegTemplate(
        title=title,
        sidebar=[] if choice.wall else sidebar,
        main=main,
        accent=theme.ACCENT,
        theme="dark" if choice.dark else "default",
        theme_toggle=not choice.wall,
        sidebar_width=300,
        main_layout=None if choice.wall else "card",
        design=Fast,
        font=FONT_STACK,
        meta_viewport="width=device-width, initial-scale=1",
        # Panel's busy spinner follows one flag for the whole process: a slider moved in one
        # browser would send every open page two messages. Nothing here waits long enough
        # to need it.
        busy_indicator=None,
    )
    template.config.raw_css.extend(raw_css)
    return template
