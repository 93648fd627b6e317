"""Chapter 09c's prompt-format tasks in nlpcourse.data: exact formats (hand-written strings),
rules checked by hand, disjoint splits, determinism, bad input."""

import re

import pytest

from nlpcourse import prompts, tokenize
from nlpcourse.prompts import PromptItem


def test_formats_match_hand_written_prompts():
    ex = [PromptItem("", "red cat", "cat red"), PromptItem("", "two", "two")]
    query = PromptItem("", "sun moon", "moon sun")
    assert prompts.format_prompt(ex, query, "arrow") == "in: red cat => out: cat red\nin: two => out: two\nin: sun moon => out:"
    assert prompts.format_prompt([], query) == "in: sun moon => out:"
    doc = PromptItem("anna lives in paris . bob lives in rome .", "where does bob live ?", "rome")
    assert prompts.format_prompt([doc], doc, "qa") == (
        "anna lives in paris . bob lives in rome . Q: where does bob live ? A: rome\n"
        "anna lives in paris . bob lives in rome . Q: where does bob live ? A:")
    story = PromptItem("the cat runs . the dog eats . the cat naps .", "", "cat")
    assert prompts.format_prompt([], story, "tldr") == "the cat runs . the dog eats . the cat naps . TL;DR:"
    assert prompts.format_prompt([("", "a", "b")], ("", "c", "d")) == "in: a => out: b\nin: c => out:"


def test_rules_give_the_expected_answers():
    items = {task: prompts.prompt_task_items(task, 60, seed=1) for task in prompts.PROMPT_TASKS}
    for item in items["reverse"]:
        assert item.answer.split() == item.query.split()[::-1]
    for item in items["copy"]:
        assert item.answer == item.query
    for item in items["first"]:
        assert item.answer == item.query.split()[0]
    for item in items["last"]:
        assert item.answer == item.query.split()[-1]
    for item in items["translate"]:  # word by word, in order
        words, french = item.query.split(), item.answer.split()
        assert len(words) == len(french) and all(prompts.PHRASE_FRENCH[w] == f for w, f in zip(words, french))
    for task in prompts.ARROW_TASKS:
        assert all(len(set(i.query.split())) == len(i.query.split()) in (2, 3) for i in items[task])
    for item in items["qa"]:
        name = item.query.split()[2]
        assert re.search(rf"\b{name} lives in {item.answer} \.", item.context)
        assert item.context.count(" lives in ") == 2
    for item in items["tldr"]:
        subjects = re.findall(r"the (\w+) \w+ \.", item.context)
        assert len(subjects) == 3 and subjects.count(item.answer) == 2


def test_the_rule_is_ambiguous_without_examples():
    # one input, five rules, five different answers: only examples tell them apart
    answers = {task: prompts._apply_rule(task, "red cat dog") for task in prompts.ARROW_TASKS}
    assert answers == {"copy": "red cat dog", "reverse": "dog cat red", "first": "red", "last": "dog",
                       "translate": "rouge chat chien"}
    inputs_by_task = {task: {i.query for i in prompts.prompt_task_items(task, 300, seed=0)} for task in prompts.ARROW_TASKS}
    assert set.intersection(*inputs_by_task.values())  # the same inputs appear under every rule


def test_phrase_words_are_single_tokens_with_distinct_french():
    tokenizer = tokenize.gpt_bpe_tokenizer()
    assert all(len(tokenizer.encode(" " + w)) == 1 for w in prompts.PHRASE_FRENCH)
    assert len(set(prompts.PHRASE_FRENCH.values())) == len(prompts.PHRASE_FRENCH)


@pytest.mark.parametrize("task", prompts.PROMPT_TASKS)
def test_splits_share_no_input(task):
    train = prompts.prompt_task_items(task, 400, seed=0, split="train")
    test = prompts.prompt_task_items(task, 150, seed=0, split="test")
    assert not {(i.context, i.query) for i in train} & {(i.context, i.query) for i in test}
    assert len(set(test)) == len(test)


def test_an_input_is_in_one_split_for_every_rule():
    test_inputs = {i.query for t in prompts.ARROW_TASKS for i in prompts.prompt_task_items(t, 100, 0, "test")}
    train_inputs = {i.query for t in prompts.ARROW_TASKS for i in prompts.prompt_task_items(t, 300, 0, "train")}
    assert test_inputs and not test_inputs & train_inputs


def test_items_are_deterministic_with_seed():
    assert prompts.prompt_task_items("qa", 20, seed=3) == prompts.prompt_task_items("qa", 20, seed=3)
    assert prompts.prompt_task_items("qa", 20, seed=3) != prompts.prompt_task_items("qa", 20, seed=4)
    assert prompts.prompt_training_text(30, seed=2) == prompts.prompt_training_text(30, seed=2)
    assert prompts.prompt_eval_set("reverse", 5, 2, seed=1) == prompts.prompt_eval_set("reverse", 5, 2, seed=1)


def test_training_episodes_have_the_asked_shots_and_only_train_items():
    docs = prompts.prompt_training_text(100, seed=0, shots=(3,))
    assert all(doc.endswith("\n") and doc.count("\n") == 4 for doc in docs)
    cue = {fmt: re.escape(c) for fmt, c in prompts.ANSWER_CUES.items()}
    for doc in docs:
        lines = doc.rstrip("\n").split("\n")
        formats = {next(f for f, c in cue.items() if re.search(rf" {c} \S", line)) for line in lines}
        assert len(formats) == 1  # one task per episode
    lines = {line for doc in prompts.prompt_training_text(300, seed=0) for line in doc.rstrip("\n").split("\n")}
    for task in prompts.PROMPT_TASKS:
        fmt = prompts.TASK_FORMATS[task]
        for item in prompts.prompt_task_items(task, 100, seed=0, split="test"):
            assert prompts.format_prompt([], item, fmt) + " " + item.answer not in lines
    mixed = prompts.prompt_training_text(400, seed=0, shots=(0, 4))
    assert {doc.count("\n") for doc in mixed} == {1, 5}
    only_qa = prompts.prompt_training_text(5, seed=0, tasks=["qa"])
    assert all(" Q: " in doc for doc in only_qa)


def test_eval_set_keeps_the_queries_and_varies_the_examples():
    sets = {k: prompts.prompt_eval_set("last", 12, k, seed=0) for k in (0, 1, 4)}
    for k, pairs in sets.items():
        assert len(pairs) == 12
        for prompt, answer in pairs:
            assert prompt.endswith("=> out:") and prompt.count("\n") == k
    assert [p.split("\n")[-1] for p, _a in sets[0]] == [p.split("\n")[-1] for p, _a in sets[4]]
    assert [a for _p, a in sets[1]] == [a for _p, a in sets[4]]
    test_queries = {i.query for i in prompts.prompt_task_items("last", 12, seed=0, split="test")}
    assert {p.split("\n")[-1][len("in: "):-len(" => out:")] for p, _a in sets[0]} == test_queries


def test_score_completion_is_exact_match_up_to_the_first_newline():
    assert prompts.score_completion(" 412\nin: five => out: 5", "412")
    assert prompts.score_completion("412  ", " 412")
    assert not prompts.score_completion(" 413", "412")
    assert not prompts.score_completion(" red", "RED")  # case counts
    assert not prompts.score_completion("", "cat")
    assert not prompts.score_completion("c  k", "c k")  # inner spacing counts


def test_rules_applied_names_the_rule_a_completion_follows():
    assert prompts.rules_applied("red cat dog", " dog cat red\nin: x") == ("reverse",)
    assert prompts.rules_applied("red cat dog", " rouge chat chien") == ("translate",)
    assert prompts.rules_applied("red cat", "cat") == ("last",)
    assert prompts.rules_applied("red cat", " red") == ("first",)
    assert prompts.rules_applied("red cat", " chat rouge") == ()
    for item in prompts.prompt_task_items("reverse", 30, seed=2):  # two-word reverse is never copy, first or last
        assert prompts.rules_applied(item.query, item.answer) == ("reverse",)
    with pytest.raises(ValueError, match="query must be two or three of the arrow tasks' words"):
        prompts.rules_applied("red sun", "red")
    with pytest.raises(ValueError, match="query must be two or three"):
        prompts.rules_applied("red", "red")
    with pytest.raises(TypeError, match="query must be a str, got NoneType"):
        prompts.rules_applied(None, "red")


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="task must be one of"):
        prompts.prompt_task_items("poetry", 3)
    with pytest.raises(ValueError, match="n must be >= 1"):
        prompts.prompt_task_items("copy", 0)
    with pytest.raises(ValueError, match="seed must be >= 0"):
        prompts.prompt_task_items("copy", 3, seed=-1)
    with pytest.raises(ValueError, match="split must be one of 'train', 'test'"):
        prompts.prompt_task_items("copy", 3, split="valid")
    with pytest.raises(ValueError, match="fmt must be one of"):
        prompts.format_prompt([], PromptItem("", "a", "b"), "chat")
    with pytest.raises(TypeError, match="examples must be a sequence of PromptItem"):
        prompts.format_prompt("in: a => out: b", PromptItem("", "a", "b"))
    with pytest.raises(TypeError, match=r"examples\[0\] must be a PromptItem"):
        prompts.format_prompt([("a", "b")], PromptItem("", "a", "b"))
    with pytest.raises(TypeError, match="query must be a PromptItem"):
        prompts.format_prompt([], "a")
    with pytest.raises(ValueError, match="fmt 'arrow' has no place for one"):
        prompts.format_prompt([], PromptItem("a story", "a", "b"), "arrow")
    with pytest.raises(ValueError, match="fmt 'tldr' has no place for one"):
        prompts.format_prompt([], PromptItem("a story", "a question", "b"), "tldr")
    with pytest.raises(ValueError, match=r"examples\[0\] must not contain a newline"):
        prompts.format_prompt([PromptItem("", "a\nb", "c")], PromptItem("", "a", "b"))
    with pytest.raises(ValueError, match="n_docs must be >= 1"):
        prompts.prompt_training_text(0)
    with pytest.raises(ValueError, match="shots must not be empty"):
        prompts.prompt_training_text(3, shots=())
    with pytest.raises(ValueError, match=r"shots\[\.\.\.\] must be >= 0"):
        prompts.prompt_training_text(3, shots=(1, -1))
    with pytest.raises(ValueError, match="tasks must be one of"):
        prompts.prompt_training_text(3, tasks=["copy", "poetry"])
    with pytest.raises(ValueError, match="shots must be >= 0"):
        prompts.prompt_eval_set("copy", 3, -1)
    with pytest.raises(TypeError, match="predicted must be a str, got NoneType"):
        prompts.score_completion(None, "a")
    with pytest.raises(TypeError, match="expected must be a str, got int"):
        prompts.score_completion("412", 412)
