"""skysift.study.cards: the novelty bullet quotes the benchmark figure of the model's own recipe."""

from __future__ import annotations

import dataclasses
import json

from skysift.model.novelty import NoveltyRecipe
from skysift.study import cards


def _round(root, prefix: str, recipes: dict, aucs: dict) -> None:
    for e in range(4):
        doc = {"chosen": next(iter(recipes)), "recipes": {c: r.to_dict() for c, r in recipes.items()},
               "candidates": {c: {"test": {n: [aucs[c] + 0.02 * e, 0.0] for n in ("3", "6", "all")}}
                              for c in recipes}}
        (root / f"{prefix}_novelseed{e}.json").write_text(json.dumps(doc))


def test_the_newest_round_that_scored_the_recipe_is_quoted(tmp_path, monkeypatch):
    monkeypatch.setattr(cards, "RESULTS", tmp_path)
    mine, other = NoveltyRecipe(), dataclasses.replace(NoveltyRecipe(), alpha=0.5)
    _round(tmp_path, "novelty_recipes3", {"a": other, "b": mine}, {"a": 0.70, "b": 0.75})
    # the third round scored this recipe as its second candidate: its own figure, not the chosen one's
    assert "0.78 / 0.78 / 0.78" in cards._novelty_measured(mine) and "novelty_recipes3" in cards._novelty_measured(mine)
    _round(tmp_path, "novelty_recipes4", {"x": other}, {"x": 0.60})
    assert "novelty_recipes3" in cards._novelty_measured(mine)  # the fifth round did not score it
    assert "0.63 / 0.63 / 0.63" in cards._novelty_measured(other) and "novelty_recipes4" in cards._novelty_measured(other)
    # no round scored it and no first-round file: nothing is claimed
    assert cards._novelty_measured(dataclasses.replace(NoveltyRecipe(), alpha=0.9)) == ""


def test_models_without_galactic_coordinates_and_unscored_recipes(tmp_path, monkeypatch):
    """A model without Galactic l and b is quoted only from the round measured on such models; a recipe no round
    scored, and a first-round file that did not score it, give nothing."""
    monkeypatch.setattr(cards, "RESULTS", tmp_path)
    mine = NoveltyRecipe()
    _round(tmp_path, "novelty_recipes5", {"a": mine}, {"a": 0.75})
    assert cards._novelty_measured(mine, galactic=False) == ""
    _round(tmp_path, "novelty_recipes5_nogalactic", {"a": mine}, {"a": 0.70})
    assert "0.73 / 0.73 / 0.73" in cards._novelty_measured(mine, galactic=False)
    assert "0.78 / 0.78 / 0.78" in cards._novelty_measured(mine)
    other = dataclasses.replace(NoveltyRecipe(), alpha=0.9)
    (tmp_path / "novelty_recipes.json").write_text(json.dumps(
        {"chosen": "x", "recipes": {"x": mine.to_dict()}, "candidates": {"x": {"test": {}}}}))
    assert cards._novelty_measured(other) == ""
