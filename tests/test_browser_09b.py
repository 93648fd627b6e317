"""Chapter 09b in a real JupyterLab: Run All works, and the "Fill the mask" widget redraws when a
new sentence is typed into its text box (Enter) and when another layer is chosen."""

from browser_support import browser_test, image_srcs, wait_for_new_image


@browser_test("09b_bert.ipynb", parameters={"live_epochs": 1, "eval_repeats": 1}, run_timeout=480.0)
def test_fill_mask_widget_follows_sentence_and_layer(page):
    before = image_srcs(page)
    assert len(before) == 1, "chapter 09b shows one widget figure (fill the mask)"
    box = page.locator(".widget-text", has_text="sentence").locator("input")
    assert box.count() == 1, "expected one 'sentence' text box"
    box.fill("the [MASK] minister said on tuesday")
    box.press("Enter")
    after_sentence = wait_for_new_image(page, before)
    page.locator("button.widget-toggle-button", has_text="embeddings").click()
    after_layer = wait_for_new_image(page, after_sentence)
    assert len({before[0], after_sentence[0], after_layer[0]}) == 3
    box.fill("a sentence without a blank")
    box.press("Enter")
    page.wait_for_selector("text=must contain [MASK]", timeout=15_000)
