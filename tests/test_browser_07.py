"""Chapter 07 in a real JupyterLab: Run All works and picking another example in the
alignment explorer redraws the attention heat-map."""

from browser_support import browser_test, image_srcs, wait_for_new_image


# The default parameters: the notebook asserts the accuracies that its full run reaches.
@browser_test("07_seq2seq_attention.ipynb", parameters={"seed": 0}, run_timeout=600.0)
def test_picking_an_example_redraws_the_alignment(page):
    before = image_srcs(page)
    assert len(before) == 1, "chapter 07 shows one widget figure"
    select = page.locator(".widget-dropdown select").first
    options = select.locator("option").all_inner_texts()
    assert len(options) == 20
    current = select.evaluate("el => el.selectedIndex")
    select.select_option(index=0 if current != 0 else 1)
    after = wait_for_new_image(page, before)
    select.select_option(index=current)
    assert wait_for_new_image(page, after) != after
