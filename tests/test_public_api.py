"""The public surface: what ``faceswap_nb`` and ``faceswap_nb.engine`` export."""

from __future__ import annotations
import __future__

import inspect

import pytest

import faceswap_nb
import faceswap_nb.engine
from faceswap_nb import _errors
from faceswap_nb._errors import FaceswapError

ERROR_CLASSES = [
    obj
    for _, obj in inspect.getmembers(_errors, inspect.isclass)
    if issubclass(obj, BaseException) and obj.__module__ == _errors.__name__
]
ENGINE_CODES = {
    "invalid_video", "invalid_image", "no_face_in_source", "no_face_in_video",
    "input_too_large", "output_not_writable", "model_files_missing",
}
API_CODES = {"unauthorized", "invalid_request", "not_found", "rate_limited", "server_error"}


def _make(cls: type[FaceswapError], message: str) -> FaceswapError:
    """An instance of any error class, with the extra fields its constructor requires."""
    if issubclass(cls, _errors.APIError):
        return cls(message, status_code=418)
    if cls in (_errors.JobFailed, _errors.JobTimeout):
        return cls(message, job=None)
    return cls(message)


def test_every_name_in_all_exists() -> None:
    missing = [name for name in faceswap_nb.__all__ if not hasattr(faceswap_nb, name)]

    assert missing == []


def test_all_has_no_duplicates() -> None:
    assert len(set(faceswap_nb.__all__)) == len(faceswap_nb.__all__)


def test_every_exception_is_exported() -> None:
    exported = set(faceswap_nb.__all__)

    assert {cls.__name__ for cls in ERROR_CLASSES} <= exported
    for cls in ERROR_CLASSES:
        assert getattr(faceswap_nb, cls.__name__) is cls


def test_all_lists_exactly_the_public_names() -> None:
    # Everything public at the top level is either in __all__ or a subpackage.
    public = {
        name
        for name, value in vars(faceswap_nb).items()
        if not name.startswith("_")
        and not inspect.ismodule(value)
        and not isinstance(value, __future__._Feature)  # `from __future__ import annotations`
    }

    assert public == set(faceswap_nb.__all__) - {"__version__"}
    assert "__version__" in faceswap_nb.__all__
    assert isinstance(faceswap_nb.__version__, str) and faceswap_nb.__version__


def test_the_tree_has_one_root() -> None:
    assert ERROR_CLASSES, "no exception classes found"
    for cls in ERROR_CLASSES:
        assert issubclass(cls, FaceswapError)
    for cls in ERROR_CLASSES:
        if cls.code in ENGINE_CODES:
            assert issubclass(cls, _errors.EngineError)
        if cls.code in API_CODES:
            assert issubclass(cls, _errors.APIError)


def test_every_error_has_a_distinct_non_empty_code() -> None:
    codes = [cls.code for cls in ERROR_CLASSES]

    assert all(isinstance(code, str) and code for code in codes)
    assert len(set(codes)) == len(codes), f"duplicate codes: {sorted(codes)}"


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda cls: cls.__name__)
def test_the_message_names_the_code_and_is_kept(cls: type[FaceswapError]) -> None:
    error = _make(cls, "the file is broken")

    assert cls.code in str(error)
    assert "the file is broken" in str(error)
    assert error.message == "the file is broken"
    assert error.code == cls.code


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda cls: cls.__name__)
def test_every_error_is_documented(cls: type[FaceswapError]) -> None:
    assert cls.__doc__ and cls.__doc__.strip()
    assert cls.__name__ in (_errors.__doc__ or "")


def test_engine_all_names_exist() -> None:
    missing = [name for name in faceswap_nb.engine.__all__ if not hasattr(faceswap_nb.engine, name)]

    assert missing == []
    assert {"swap_video", "SwapConfig", "SwapReport", "FACE_CHOICES"} <= set(faceswap_nb.engine.__all__)


def test_engine_face_choices_match_the_cli() -> None:
    assert faceswap_nb.engine.FACE_CHOICES == ("largest", "all")


def test_api_errors_carry_the_status_code() -> None:
    error = _errors.NotFound("no job 42 for this key", status_code=404)

    assert error.status_code == 404
    assert "404" in str(error) and "no job 42" in str(error)


def test_a_failed_job_takes_the_servers_error_code() -> None:
    job = {"status": "failed", "error": {"code": "content_policy"}}

    error = _errors.JobFailed("refused", job=job, code="content_policy")

    assert error.code == "content_policy"
    assert error.job is job
    assert _errors.JobFailed("failed", job=job).code == "job_failed"
