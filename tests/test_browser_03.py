"""Chapter 03 in a real JupyterLab: Run All works, the nearest-neighbour explorer redraws when
its neighbour-count slider moves and when another model is chosen, and the analogy widget
redraws for another question."""

from browser_support import browser_test, image_srcs, slider_handles, wait_for_new_image


@browser_test("03_word2vec_glove.ipynb", parameters={"glove_epochs": 2}, run_timeout=480.0)
def test_neighbour_and_analogy_widgets_redraw(page):
    before = image_srcs(page)
    assert len(before) == 2, "chapter 03 shows two widget figures (neighbours, analogies)"
    handle = slider_handles(page).nth(0)  # the explorer's "neighbours" slider
    handle.focus()
    handle.press("ArrowLeft")
    after_slider = wait_for_new_image(page, before)
    page.locator("button.widget-toggle-button", has_text="gensim").click()
    after_model = wait_for_new_image(page, after_slider)
    page.locator(".widget-dropdown select").first.select_option(index=1)  # man : king = woman : ?
    wait_for_new_image(page, after_model)
