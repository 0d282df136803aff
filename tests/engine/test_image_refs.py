import pytest

from pocketdock.engine.parse import split_image_ref


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("busybox", ("busybox", "latest")),
        ("busybox:1.36", ("busybox", "1.36")),
        ("pocketdock/p/dev:20261203T101500Z", ("pocketdock/p/dev", "20261203T101500Z")),
        ("registry:5000/team/img", ("registry:5000/team/img", "latest")),
        ("registry:5000/team/img:v2", ("registry:5000/team/img", "v2")),
    ],
)
def test_split_image_ref(ref: str, expected: tuple[str, str]) -> None:
    assert split_image_ref(ref) == expected
