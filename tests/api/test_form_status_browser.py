"""The form's screen-reader status is French: after an evaluation (and a refused one), no text, aria-label
or live region of the page holds a raw Gradio i18n key such as `common.complete`, in a French and in an
English browser (the form is French whatever the browser's language)."""

from __future__ import annotations

import pytest

from scoring import schema

pytestmark = pytest.mark.browser

KEYS_JS = """() => {
  const found = [];
  const raw = /\\b(common|status|errors|upload_text)\\.[a-z_]+\\b/;
  for (const el of document.querySelectorAll('*')) {
    for (const name of ['aria-label', 'aria-valuetext', 'title', 'placeholder']) {
      const v = el.getAttribute(name);
      if (v && raw.test(v)) found.push(name + ': ' + v);
    }
  }
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const v = walker.currentNode.nodeValue;
    if (v && raw.test(v)) found.push('text: ' + v.trim().slice(0, 80));
  }
  return found;
}"""
# Gradio's status tracker writes its announcement into an aria-live region for about a second
LIVE_JS = """() => [...document.querySelectorAll('[aria-live], [role=status]')]
  .map(el => (el.textContent || '').trim()).filter(Boolean)"""


@pytest.mark.parametrize("locale", ["fr-FR", "en-US"])
def test_no_raw_i18n_key_after_an_evaluation(app_url, chromium, locale) -> None:
    context = chromium.new_context(locale=locale, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto(app_url[0] + "/", wait_until="load")
        page.get_by_role("button", name="Évaluer").wait_for(timeout=60_000)
        page.get_by_role("button", name="Évaluer").click()
        box = page.locator("#decision textarea, #decision input").first
        page.wait_for_function("(el) => el.value !== ''", arg=box.element_handle(), timeout=60_000)
        # the status tracker announces at most once every 5 s: wait for the "complete" announcement
        page.wait_for_function(f"() => ({LIVE_JS})().some(t => t.includes('Terminé'))", timeout=30_000)
        assert page.evaluate(KEYS_JS) == []
        page.locator(f"#in-{schema.EXT_SOURCE_1} textarea, #in-{schema.EXT_SOURCE_1} input").first.fill("7")
        page.get_by_role("button", name="Évaluer").click()
        page.locator("#message").get_by_text("Saisie refusée").wait_for(timeout=60_000)
        # announced within 5 s, and cleared a second later: caught while it is there
        page.wait_for_function(f"() => ({LIVE_JS})().some(t => t.includes('Terminé'))", timeout=30_000)
        assert page.evaluate(KEYS_JS) == []
    finally:
        context.close()
