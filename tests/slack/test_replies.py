"""Every error a person can meet has words of its own."""

from __future__ import annotations

import pytest

from bot.errors import BotError, InputRejected, NothingToEdit, VisitorDeclined
from bot.slack import replies


def every_subclass(kind: type[BotError]) -> set[type[BotError]]:
    return {sub for child in kind.__subclasses__() for sub in (child, *every_subclass(child))}


def test_every_bot_error_class_has_words_of_its_own() -> None:
    unworded = sorted(kind.__name__ for kind in every_subclass(BotError) if kind not in replies.ERROR_WORDS)
    assert not unworded, f"no words in bot.slack.replies for {unworded}"


def test_the_walk_finds_the_errors_of_every_layer() -> None:
    names = {kind.__name__ for kind in every_subclass(BotError)}
    assert {"InputRejected", "LimitReached", "ModelRetired", "NothingToEdit", "VisitorDeclined"} <= names


def test_an_error_without_words_is_a_bug_not_a_vague_sentence() -> None:
    with pytest.raises(KeyError):
        replies.for_error(BotError())  # the base class has no words: the global handler answers


def test_no_image_to_edit_has_one_wording() -> None:
    assert "no image in this thread to edit yet" in replies.for_error(NothingToEdit())
    assert "no image #7 in this thread" in replies.for_error(NothingToEdit(version=7))


def test_a_visitor_reads_the_same_words_in_a_message_and_in_the_edit_dialog() -> None:
    assert replies.VISITOR in replies.for_error(VisitorDeclined())
    assert replies.VISITOR in replies.in_dialog(VisitorDeclined())
    assert replies.in_dialog(InputRejected("say what should change")) == "say what should change"
