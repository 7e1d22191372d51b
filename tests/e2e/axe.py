"""Run axe-core (vendored in tests/e2e/vendor) on a Playwright page: WCAG 2.2 AA rules."""

from __future__ import annotations

from pathlib import Path

AXE_SOURCE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text()
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def violations(page) -> list[dict]:
    """Return axe's violations on the page once it has loaded (an empty list is a pass)."""
    # A page whose text is visible may still be waiting for its stylesheet (a form's answer
    # revalidates portal.css): judged unstyled, its links are too small to touch.
    page.wait_for_load_state("load")
    # Injected through evaluate, not a <script> tag, so the page's CSP stays as served.
    page.evaluate(AXE_SOURCE)
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_TAGS)
    return result["violations"]


def describe(found: list[dict]) -> str:
    """A readable summary of violations for an assertion message."""
    return "\n".join(f"{v['id']} ({v['impact']}): {v['help']} — "
                     + "; ".join(n["target"][0] if isinstance(n["target"][0], str)
                                 else str(n["target"]) for n in v["nodes"][:5])
                     for v in found)
