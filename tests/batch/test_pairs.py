"""Pairs as a tidy frame: ids, duplicates flagged, malformed input refused by name."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from faceswap_nb.batch.pairs import normalize_pairs, pair_id


def test_tuples_become_a_typed_frame() -> None:
    frame = normalize_pairs([("a.mp4", "f.jpg"), (Path("b.mp4"), "https://x.org/f.jpg")])

    assert list(frame.columns) == ["video", "face", "pair_id", "duplicate"]
    assert frame["video"].tolist() == ["a.mp4", "b.mp4"]
    assert str(frame["video"].dtype) == "string" and frame["duplicate"].dtype == bool
    assert frame["pair_id"].str.len().eq(16).all()


def test_pair_ids_are_stable_and_depend_on_both_sides() -> None:
    assert pair_id("a.mp4", "f.jpg") == pair_id("a.mp4", "f.jpg")
    assert pair_id("a.mp4", "f.jpg") != pair_id("f.jpg", "a.mp4")
    assert pair_id("a.mp4", "f.jpg") != pair_id("a.mp4f", ".jpg")


def test_duplicates_are_flagged_not_dropped() -> None:
    frame = normalize_pairs([("a.mp4", "f.jpg"), ("b.mp4", "f.jpg"), ("a.mp4", "f.jpg")])

    assert len(frame) == 3
    assert frame["duplicate"].tolist() == [False, False, True]
    assert frame["pair_id"][0] == frame["pair_id"][2]


def test_a_dataframe_and_mappings_are_accepted() -> None:
    given = pd.DataFrame({"video": ["a.mp4"], "face": ["f.jpg"], "note": ["kept out"]})

    assert normalize_pairs(given)["pair_id"].tolist() == [pair_id("a.mp4", "f.jpg")]
    assert normalize_pairs([{"video": "a.mp4", "face": "f.jpg"}])["video"].tolist() == ["a.mp4"]


def test_no_pairs_is_an_empty_batch() -> None:
    assert normalize_pairs([]).empty


@pytest.mark.parametrize(
    ("pairs", "match"),
    [
        ("a.mp4", "list of \\(video, face\\) tuples"),
        (42, "list of \\(video, face\\) tuples"),
        ([("a.mp4",)], "pairs\\[0\\] has 1 items"),
        ([("a.mp4", "f.jpg", "x")], "pairs\\[0\\] has 3 items"),
        ([("a.mp4", "f.jpg"), "b.mp4"], "pairs\\[1\\] is str"),
        ([("a.mp4", 3)], "row 0: face is int 3"),
        ([("a.mp4", None)], "row 0: face is missing"),
        ([("  ", "f.jpg")], "row 0: video is empty"),
        ([{"video": "a.mp4"}], "needs both 'video' and 'face'"),
        (pd.DataFrame({"video": ["a.mp4"]}), "no 'face' column"),
        (pd.DataFrame({"video": ["a.mp4"], "face": [float("nan")]}), "row 0: face is missing"),
    ],
)
def test_malformed_pairs_are_named(pairs: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        normalize_pairs(pairs)  # type: ignore[arg-type]
