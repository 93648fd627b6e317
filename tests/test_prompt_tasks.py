"""Chapter 09c's prompt-format tasks in nlpcourse.data: exact formats (hand-written strings),
rules checked against spell_number, disjoint splits, determinism, bad input."""

import re

import pytest

from nlpcourse import data
from nlpcourse.data import PromptItem


def test_formats_match_hand_written_prompts():
    ex = [PromptItem("", "red cat", "cat red"), PromptItem("", "two", "two")]
    query = PromptItem("", "sun moon", "moon sun")
    assert data.format_prompt(ex, query, "arrow") == "in: red cat => out: cat red\nin: two => out: two\nin: sun moon => out:"
    assert data.format_prompt([], query) == "in: sun moon => out:"
    doc = PromptItem("anna lives in paris . bob lives in rome .", "where does bob live ?", "rome")
    assert data.format_prompt([doc], doc, "qa") == (
        "anna lives in paris . bob lives in rome . Q: where does bob live ? A: rome\n"
        "anna lives in paris . bob lives in rome . Q: where does bob live ? A:")
    story = PromptItem("the cat runs . the dog eats . the cat naps .", "", "cat")
    assert data.format_prompt([], story, "tldr") == "the cat runs . the dog eats . the cat naps . TL;DR:"
    assert data.format_prompt([("", "a", "b")], ("", "c", "d")) == "in: a => out: b\nin: c => out:"


def test_rules_give_the_expected_answers():
    items = {task: data.prompt_task_items(task, 60, seed=1) for task in data.PROMPT_TASKS}
    for item in items["reverse"]:
        assert item.answer.split() == item.query.split()[::-1]
    for item in items["upper"]:
        assert item.answer == item.query.upper() and item.answer != item.query
    for item in items["first_letters"]:
        assert item.answer.split() == [w[0] for w in item.query.split()]
    for item in items["copy"]:
        assert item.answer == item.query
    for item in items["to_digits"]:  # chapter 07's translation, checked against spell_number
        assert data.spell_number(int(item.answer)) == item.query.split()
    for item in items["to_words"]:
        assert item.answer.split() == data.spell_number(int(item.query))
    for item in items["qa"]:
        name = item.query.split()[2]
        assert re.search(rf"\b{name} lives in {item.answer} \.", item.context)
        assert item.context.count(" lives in ") == 2
    for item in items["tldr"]:
        subjects = re.findall(r"the (\w+) \w+ \.", item.context)
        assert len(subjects) == 3 and subjects.count(item.answer) == 2


def test_the_rule_is_ambiguous_without_examples():
    # one input, five rules that accept it, five different answers: only examples tell them apart
    query = "four hundred twelve"
    answers = {task: data._apply_rule(task, query) for task, domains in data.ARROW_TASKS.items()
               if "number_words" in domains}
    assert answers == {"copy": "four hundred twelve", "reverse": "twelve hundred four",
                       "upper": "FOUR HUNDRED TWELVE", "first_letters": "f h t", "to_digits": "412"}
    assert data._apply_rule("to_words", "412") == query
    inputs_by_task = {task: {i.query for i in data.prompt_task_items(task, 200, seed=0)} for task in data.ARROW_TASKS}
    assert inputs_by_task["copy"] & inputs_by_task["reverse"] & inputs_by_task["upper"]  # shared inputs


SPELLED = {" ".join(data.spell_number(v)): v for v in range(1000)}


def _number(query: str):
    """The number an input names, spelled or in digits; None for other inputs."""
    return int(query) if query.isdigit() else SPELLED.get(query)


@pytest.mark.parametrize("task", data.PROMPT_TASKS)
def test_splits_share_no_item_and_no_number(task):
    train = data.prompt_task_items(task, 400, seed=0, split="train")
    test = data.prompt_task_items(task, 150, seed=0, split="test")
    train_inputs = {(i.context, i.query) for i in train}
    assert not train_inputs & {(i.context, i.query) for i in test}
    assert len(set(test)) == len(test) or task in ("to_digits", "to_words")  # the digit splits hold ~200 numbers
    if task in ("copy", "to_digits", "to_words"):
        train_numbers = {_number(i.query) for i in train} - {None}
        test_numbers = {_number(i.query) for i in test} - {None}
        assert test_numbers and not train_numbers & test_numbers  # 412 and "four hundred twelve" split together


def test_number_splits_agree_across_tasks():
    test_values = {_number(i.query) for t in ("to_digits", "to_words") for i in data.prompt_task_items(t, 100, 0, "test")}
    train_values = {_number(i.query) for t in ("to_digits", "to_words", "copy")
                    for i in data.prompt_task_items(t, 300, 0, "train")} - {None}
    assert not test_values & train_values


def test_items_are_deterministic_with_seed():
    assert data.prompt_task_items("qa", 20, seed=3) == data.prompt_task_items("qa", 20, seed=3)
    assert data.prompt_task_items("qa", 20, seed=3) != data.prompt_task_items("qa", 20, seed=4)
    assert data.prompt_training_text(30, seed=2) == data.prompt_training_text(30, seed=2)
    assert data.prompt_eval_set("reverse", 5, 2, seed=1) == data.prompt_eval_set("reverse", 5, 2, seed=1)


def test_training_episodes_have_the_asked_shots_and_only_train_items():
    docs = data.prompt_training_text(100, seed=0, shots=(3,))
    assert all(doc.endswith("\n") and doc.count("\n") == 4 for doc in docs)
    cue = {fmt: re.escape(c) for fmt, c in data.ANSWER_CUES.items()}
    for doc in docs:
        lines = doc.rstrip("\n").split("\n")
        formats = {next(f for f, c in cue.items() if re.search(rf" {c} \S", line)) for line in lines}
        assert len(formats) == 1  # one task per episode
    lines = {line for doc in data.prompt_training_text(300, seed=0) for line in doc.rstrip("\n").split("\n")}
    for task in data.PROMPT_TASKS:
        fmt = data.TASK_FORMATS[task]
        for item in data.prompt_task_items(task, 100, seed=0, split="test"):
            assert data.format_prompt([], item, fmt) + " " + item.answer not in lines
    mixed = data.prompt_training_text(400, seed=0, shots=(0, 4))
    assert {doc.count("\n") for doc in mixed} == {1, 5}
    only_qa = data.prompt_training_text(5, seed=0, tasks=["qa"])
    assert all(" Q: " in doc for doc in only_qa)


def test_eval_set_keeps_the_queries_and_varies_the_examples():
    sets = {k: data.prompt_eval_set("first_letters", 12, k, seed=0) for k in (0, 1, 4)}
    for k, pairs in sets.items():
        assert len(pairs) == 12
        for prompt, answer in pairs:
            assert prompt.endswith("=> out:") and prompt.count("\n") == k
    assert [p.split("\n")[-1] for p, _a in sets[0]] == [p.split("\n")[-1] for p, _a in sets[4]]
    assert [a for _p, a in sets[1]] == [a for _p, a in sets[4]]
    test_queries = {i.query for i in data.prompt_task_items("first_letters", 12, seed=0, split="test")}
    assert {p.split("\n")[-1][len("in: "):-len(" => out:")] for p, _a in sets[0]} == test_queries


def test_score_completion_is_exact_match_up_to_the_first_newline():
    assert data.score_completion(" 412\nin: five => out: 5", "412")
    assert data.score_completion("412  ", " 412")
    assert not data.score_completion(" 413", "412")
    assert not data.score_completion(" red", "RED")  # case counts
    assert not data.score_completion("", "cat")
    assert not data.score_completion("c  k", "c k")  # inner spacing counts


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="task must be one of"):
        data.prompt_task_items("translate", 3)
    with pytest.raises(ValueError, match="n must be >= 1"):
        data.prompt_task_items("copy", 0)
    with pytest.raises(ValueError, match="seed must be >= 0"):
        data.prompt_task_items("copy", 3, seed=-1)
    with pytest.raises(ValueError, match="split must be one of 'train', 'test'"):
        data.prompt_task_items("copy", 3, split="valid")
    with pytest.raises(ValueError, match="fmt must be one of"):
        data.format_prompt([], PromptItem("", "a", "b"), "chat")
    with pytest.raises(TypeError, match="examples must be a sequence of PromptItem"):
        data.format_prompt("in: a => out: b", PromptItem("", "a", "b"))
    with pytest.raises(TypeError, match=r"examples\[0\] must be a PromptItem"):
        data.format_prompt([("a", "b")], PromptItem("", "a", "b"))
    with pytest.raises(TypeError, match="query must be a PromptItem"):
        data.format_prompt([], "a")
    with pytest.raises(ValueError, match="fmt 'arrow' has no place for one"):
        data.format_prompt([], PromptItem("a story", "a", "b"), "arrow")
    with pytest.raises(ValueError, match="fmt 'tldr' has no place for one"):
        data.format_prompt([], PromptItem("a story", "a question", "b"), "tldr")
    with pytest.raises(ValueError, match=r"examples\[0\] must not contain a newline"):
        data.format_prompt([PromptItem("", "a\nb", "c")], PromptItem("", "a", "b"))
    with pytest.raises(ValueError, match="n_docs must be >= 1"):
        data.prompt_training_text(0)
    with pytest.raises(ValueError, match="shots must not be empty"):
        data.prompt_training_text(3, shots=())
    with pytest.raises(ValueError, match=r"shots\[\.\.\.\] must be >= 0"):
        data.prompt_training_text(3, shots=(1, -1))
    with pytest.raises(ValueError, match="tasks must be one of"):
        data.prompt_training_text(3, tasks=["copy", "poetry"])
    with pytest.raises(ValueError, match="shots must be >= 0"):
        data.prompt_eval_set("copy", 3, -1)
    with pytest.raises(TypeError, match="predicted must be a str, got NoneType"):
        data.score_completion(None, "a")
    with pytest.raises(TypeError, match="expected must be a str, got int"):
        data.score_completion("412", 412)
