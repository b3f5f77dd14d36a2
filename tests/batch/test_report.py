"""summary, plots and export of a result frame, on synthetic frames (no server)."""

from __future__ import annotations

import json

import matplotlib
import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from faceswap_nb.batch import _export
from faceswap_nb.batch.report import (
    PYARROW_MISSING,
    export,
    job_labels,
    plot_costs,
    plot_times,
    read_export,
    schema_path,
    summary,
)
from tests.batch.frames import STATUSES, result_frame

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def mixed_types() -> pd.DataFrame:
    """Every kind of column that must survive: categories, UTC times, durations, NaN, NA."""
    return pd.DataFrame({
        "status": pd.Categorical(["completed", None, "failed"], categories=["completed", "failed", "never"]),
        "level": pd.Categorical([2, 1, None], categories=[1, 2, 3], ordered=True),
        "at": pd.to_datetime(
            ["2025-03-01 12:00:00.123456789", None, "2025-03-01 13:00:00"], utc=True, format="ISO8601"
        ).astype("datetime64[ns, UTC]"),
        "at_us": pd.to_datetime(["2025-03-01 12:00:00.5", None, "2025-03-02"], utc=True, format="ISO8601")
        .astype("datetime64[us, UTC]"),
        "took": pd.to_timedelta([1.5, None, 86_400 * 2 + 0.000000001], unit="s").astype("timedelta64[ns]"),
        "cost": [0.1 + 0.2, np.nan, 1e-9],
        "count": pd.array([1, None, 3], dtype="Int64"),
        "whole": np.array([1, 2, 3], dtype="int64"),
        "flag": [True, False, True],
        "maybe": pd.array([True, None, False], dtype="boolean"),
        "note": pd.array(["a, \"quoted\"\nline", None, "NA"], dtype="string"),
        "plain": pd.Series(["x", None, "null"], dtype="str"),
    })


# -- summary ------------------------------------------------------------------------


def test_summary_counts_and_costs_by_status_in_status_order_with_a_total():
    table = summary(result_frame())

    assert list(table.index) == ["processing", "completed", "failed", "not_submitted", "total"]
    assert table.index.name == "status"
    assert table["jobs"].tolist() == [1, 2, 1, 1, 5]
    assert table["jobs"].dtype == "int64"
    assert table.loc["completed", "video_seconds"] == 6.5
    assert table.loc["total", "video_seconds"] == 16.5
    assert table.loc["total", "est_cost"] == 1.65  # exact: summed in micro-units
    assert table.loc["completed", "actual_cost"] == 0.65
    assert table.loc["total", "actual_cost"] == 0.65
    assert np.isnan(table.loc["failed", "actual_cost"])  # nothing reported, not 0


def test_summary_throughput_is_ended_jobs_per_wall_clock_hour():
    table = summary(result_frame())

    # The first submission at 0 s, the last finish at 18 s: 3 ended jobs in 18 s.
    assert table.loc["completed", "jobs_per_hour"] == pytest.approx(2 / 18 * 3600)
    assert table.loc["completed", "video_seconds_per_hour"] == pytest.approx(6.5 / 18 * 3600)
    assert table.loc["total", "jobs_per_hour"] == pytest.approx(3 / 18 * 3600)
    assert table.loc["total", "video_seconds_per_hour"] == pytest.approx(9.5 / 18 * 3600)
    assert table.loc[["processing", "not_submitted"], "jobs_per_hour"].isna().all()


def test_summary_of_a_batch_where_nothing_has_finished_has_no_throughput():
    table = summary(result_frame([{"status": "created"}, {"status": "processing", "started": 1.0}]))

    assert list(table.index) == ["created", "processing", "total"]
    assert table["jobs_per_hour"].isna().all()
    assert np.isnan(table.loc["total", "actual_cost"])


def test_summary_of_no_jobs_is_a_total_of_zero():
    table = summary(result_frame([]))

    assert list(table.index) == ["total"]
    assert table.loc["total", "jobs"] == 0


def test_summary_sums_money_without_float_drift():
    frame = result_frame([{"status": "completed", "finished": 1.0}] * 3)
    frame["est_cost"] = frame["actual_cost"] = [0.1, 0.2, 0.3]

    assert summary(frame).loc["total", "actual_cost"] == 0.6  # 0.1 + 0.2 + 0.3 != 0.6 in floats


def test_summary_says_which_column_is_missing():
    with pytest.raises(ValueError, match="actual_cost"):
        summary(result_frame().drop(columns="actual_cost"))


# -- plots --------------------------------------------------------------------------


def test_plot_costs_draws_an_estimated_and_an_actual_bar_per_job():
    frame = result_frame()

    ax = plot_costs(frame)

    estimated, actual = ax.containers
    assert [bar.get_height() for bar in estimated] == pytest.approx([0.4, 0.25, 0.3, 0.6, 0.1])
    heights = [bar.get_height() for bar in actual]
    assert heights[:2] == pytest.approx([0.4, 0.25]) and np.isnan(heights[2:]).all()
    assert [t.get_text() for t in ax.get_xticklabels()] == job_labels(frame)
    assert ax.get_title() == "cost per job — estimated 1.65, actual 0.65"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["estimated", "actual"]


def test_job_labels_are_numbered_file_names_shortened():
    frame = result_frame([{"status": "completed"}, {"status": "created"}])
    frame.loc[1, "video"] = "https://media.test/a/very-long-video-name-indeed.mp4"

    assert job_labels(frame) == ["1 clip1.mp4 + face1.jpg", "2 very-long-video-n… + face0.jpg"]


def test_plot_times_puts_each_finished_job_at_video_seconds_and_run_seconds():
    ax = plot_times(result_frame())

    points = {c.get_label(): c.get_offsets().tolist() for c in ax.collections}
    assert points == {"completed": [[4.0, 10.0], [2.5, 6.0]], "failed": [[3.0, 1.0]]}
    assert ax.get_xlabel() == "video length (s)" and ax.get_ylabel() == "processing time (s)"
    assert "3 of 5 jobs" in ax.get_title()
    assert "real time" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_plots_draw_on_given_axes_and_survive_a_batch_with_nothing_finished():
    import matplotlib.pyplot as plt

    _figure, (left, right) = plt.subplots(1, 2)
    frame = result_frame([{"status": "created"}])

    assert plot_costs(frame, ax=left) is left
    assert plot_times(frame, ax=right) is right
    assert "actual not reported yet" in left.get_title()
    assert len(right.collections) == 0


# -- export -------------------------------------------------------------------------


def test_csv_round_trip_restores_every_type(tmp_path):
    frame = mixed_types()

    path = export(frame, tmp_path / "out" / "results.csv")

    assert path == tmp_path / "out" / "results.csv" and schema_path(path).is_file()
    assert_frame_equal(read_export(path), frame)


def test_csv_round_trip_of_a_result_frame(tmp_path):
    frame = result_frame()

    back = read_export(export(frame, tmp_path / "results.csv"))

    assert_frame_equal(back, frame)
    assert list(back["status"].cat.categories) == STATUSES


def test_csv_is_plain_for_other_tools_and_the_schema_lists_each_type(tmp_path):
    path = export(mixed_types(), tmp_path / "results.csv")

    assert path.read_text().splitlines()[0].startswith("status,level,at,at_us,took,cost")
    columns = {c["name"]: c for c in json.loads(schema_path(path).read_text())["columns"]}
    assert columns["at"]["dtype"] == "datetime64[ns, UTC]"
    assert columns["took"]["dtype"] == "timedelta64[ns]"
    assert columns["level"] == {"name": "level", "dtype": "category", "categories": [1, 2, 3],
                                "categories_dtype": "int64", "ordered": True}


def test_a_result_csv_without_its_schema_still_gets_the_known_columns_typed(tmp_path):
    frame = result_frame()
    path = export(frame, tmp_path / "results.csv")
    schema_path(path).unlink()

    back = read_export(path)

    assert_frame_equal(back, frame)


def test_an_index_that_means_something_is_written_as_a_column(tmp_path):
    table = summary(result_frame())

    back = read_export(export(table, tmp_path / "summary.csv"))

    assert_frame_equal(back.set_index("status"), table)


def test_export_refuses_other_suffixes(tmp_path):
    with pytest.raises(ValueError, match=r"\.csv or \.parquet.*results\.xlsx"):
        export(result_frame(), tmp_path / "results.xlsx")


def test_a_foreign_schema_file_is_refused(tmp_path):
    path = export(result_frame(), tmp_path / "results.csv")
    schema_path(path).write_text('{"fields": []}')

    with pytest.raises(ValueError, match="not a schema written by export"):
        read_export(path)


def test_parquet_without_pyarrow_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setattr(_export, "pyarrow_installed", lambda: False)

    with pytest.raises(ImportError, match="pip install pyarrow"):
        export(result_frame(), tmp_path / "results.parquet")
    with pytest.raises(ImportError, match="pip install pyarrow"):
        read_export(tmp_path / "results.parquet")
    assert not (tmp_path / "results.parquet").exists()
    assert "pip install pyarrow" in PYARROW_MISSING


def test_parquet_round_trip_restores_every_type(tmp_path):
    pytest.importorskip("pyarrow")
    for number, frame in enumerate((mixed_types(), result_frame())):
        path = export(frame, tmp_path / f"results-{number}.parquet")

        assert_frame_equal(read_export(path), frame)
        assert not schema_path(path).exists()  # Parquet keeps its types inside


def test_a_duplicate_pair_is_counted_but_adds_no_seconds_nor_money():
    frame = result_frame([
        {"status": "completed", "video_seconds": 4.0, "started": 1.0, "finished": 11.0},
        {"status": "not_submitted", "video_seconds": 4.0, "error_code": "duplicate",
         "error_message": "the same video and face as row 0; run once"},
    ])

    table = summary(frame)

    assert table.loc["not_submitted", "jobs"] == 1
    assert np.isnan(table.loc["not_submitted", "est_cost"])
    assert table.loc["total", "est_cost"] == 0.4 and table.loc["total", "video_seconds"] == 4.0
    assert plot_costs(frame).get_title() == "cost per job — estimated 0.40, actual 0.40"
