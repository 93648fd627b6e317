"""Chapter 02 in a real JupyterLab: Run All works and the next-word explorer redraws when the
epoch slider moves to another checkpoint and when another prompt is picked."""

from browser_support import browser_test, image_srcs, slider_handles, wait_for_new_image


@browser_test("02_neural_language_models.ipynb", parameters={"seed": 0}, run_timeout=360.0)
def test_next_word_explorer_follows_epoch_and_prompt(page):
    before = image_srcs(page)
    assert len(before) == 1, "chapter 02 shows one widget figure"
    # the notebook leaves the widget at epoch 1: one step right shows the next checkpoint
    handle = slider_handles(page).nth(0)
    handle.focus()
    handle.press("ArrowRight")
    later = wait_for_new_image(page, before)
    page.locator(".widget-dropdown select").first.select_option("new south")
    other_prompt = wait_for_new_image(page, later)
    assert other_prompt != later
