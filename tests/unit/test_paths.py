"""Mapping Globus destination paths to staging objects and destination keys (core/paths.py)."""

from __future__ import annotations

import unicodedata

import pytest

from aws_copy_pt.core.paths import (
    MAX_KEY_BYTES,
    CollectionMapping,
    InvalidMappingError,
    PathError,
    UnmappablePathError,
    normalize_base_path,
    normalize_prefix,
    parse_bucket_target,
    parse_collection_path,
    parse_uuid,
)

GATEWAY_ROOT = CollectionMapping(bucket="staging")
BUCKET_ROOT = CollectionMapping(bucket="staging", base_path="/staging")
FOLDER_ROOT = CollectionMapping(bucket="staging", base_path="/staging/incoming/")


# -- the three ways a collection can be rooted -----------------------------------------------


def test_gateway_rooted_collection_takes_the_bucket_from_the_first_segment() -> None:
    mapped = GATEWAY_ROOT.map_path("/staging/run1/a.dat", "archive/2024")
    assert (mapped.bucket, mapped.key) == ("staging", "run1/a.dat")
    assert mapped.relative_key == "run1/a.dat"
    assert mapped.dest_key == "archive/2024/run1/a.dat"


def test_bucket_rooted_collection_paths_are_keys() -> None:
    mapped = BUCKET_ROOT.map_path("/run1/a.dat")
    assert (mapped.bucket, mapped.key, mapped.dest_key) == ("staging", "run1/a.dat", "run1/a.dat")


def test_folder_rooted_collection_prefixes_staging_keys_but_not_destination_keys() -> None:
    mapped = FOLDER_ROOT.map_path("/run1/a.dat", "dest/")
    assert mapped.key == "incoming/run1/a.dat"
    assert mapped.relative_key == "run1/a.dat"
    assert mapped.dest_key == "dest/run1/a.dat"


def test_key_prefix_narrows_the_mapping_root_below_the_base_path() -> None:
    mapping = CollectionMapping(bucket="staging", base_path="/staging/in/", key_prefix="globus")
    mapped = mapping.map_path("/globus/x/y.bin", "out")
    assert mapped.key == "in/globus/x/y.bin"
    assert mapped.dest_key == "out/x/y.bin"
    assert mapping.root_prefix == "in/globus/"


def test_without_destination_prefix_the_destination_key_is_the_relative_key() -> None:
    assert BUCKET_ROOT.map_path("/a/b/c.txt").dest_key == "a/b/c.txt"
    assert BUCKET_ROOT.map_path("/a/b/c.txt", "/").dest_key == "a/b/c.txt"


def test_destination_prefix_slashes_are_normalized_once() -> None:
    for prefix in ("out", "out/", "/out", "/out//"[:-1]):
        assert BUCKET_ROOT.map_path("/f", prefix).dest_key == "out/f"


# -- keys keep every character --------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "with space.txt",
        "  leading and trailing  ",
        "plus+sign.dat",
        "percent%20not-decoded.dat",
        "hash#fragment.dat",
        "query?x=1&y=2",
        "quote'and\"double",
        "emoji-🧬.fastq",
        "日本語/ファイル.csv",
        "tab\tand\nnewline",
        "back\\slash",
        "colon:semi;comma,",
        "~tilde-inside",
    ],
)
def test_keys_keep_special_characters_byte_for_byte(name: str) -> None:
    mapped = BUCKET_ROOT.map_path(f"/dir/{name}", "p")
    assert mapped.key == f"dir/{name}"
    assert mapped.dest_key == f"p/dir/{name}"


def test_unicode_is_never_renormalized() -> None:
    decomposed = unicodedata.normalize("NFD", "café.txt")
    composed = unicodedata.normalize("NFC", "café.txt")
    assert decomposed != composed
    assert BUCKET_ROOT.map_path(f"/{decomposed}").key == decomposed
    assert BUCKET_ROOT.map_path(f"/{composed}").key == composed


def test_dots_inside_names_are_ordinary_characters() -> None:
    assert BUCKET_ROOT.map_path("/a/..hidden/...x/.env").key == "a/..hidden/...x/.env"


# -- paths that must be rejected, never guessed ----------------------------------------------


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/run1/../../other-bucket/x", "'..' segment"),
        ("/..", "'..' segment"),
        ("/a/./b", "'.' segment"),
        ("/a//b", "empty segment"),
        ("relative/path", "not an absolute path"),
        ("/~/data/file", "home directory"),
        ("/dir/", "directory"),
        ("/a\x00b", "NUL"),
    ],
)
def test_ambiguous_paths_are_rejected_with_a_reason(path: str, reason: str) -> None:
    with pytest.raises(UnmappablePathError) as caught:
        BUCKET_ROOT.map_path(path)
    assert reason in caught.value.reason
    assert caught.value.path == path


def test_traversal_cannot_climb_out_of_a_folder_rooted_collection() -> None:
    with pytest.raises(UnmappablePathError, match=r"'\.\.' segment"):
        FOLDER_ROOT.map_path("/../secret/key")


def test_path_in_another_bucket_is_rejected() -> None:
    with pytest.raises(UnmappablePathError) as caught:
        GATEWAY_ROOT.map_path("/other-bucket/a.dat")
    assert "'other-bucket', not in the staging bucket 'staging'" in caught.value.reason


def test_path_naming_only_a_bucket_is_rejected() -> None:
    with pytest.raises(UnmappablePathError, match="names a bucket"):
        GATEWAY_ROOT.map_path("/staging")


def test_key_outside_the_key_prefix_is_rejected() -> None:
    mapping = CollectionMapping(bucket="staging", base_path="/staging", key_prefix="globus/")
    with pytest.raises(UnmappablePathError, match="outside the mapping root"):
        mapping.map_path("/other/x")
    with pytest.raises(UnmappablePathError, match="outside the mapping root"):
        mapping.map_path("/globusX/x")  # a prefix is a directory, not a string prefix


def test_keys_longer_than_s3_allows_are_rejected() -> None:
    long_name = "é" * (MAX_KEY_BYTES // 2)  # 2 bytes each: exactly 1024 bytes
    assert BUCKET_ROOT.map_path(f"/{long_name}").key == long_name
    with pytest.raises(UnmappablePathError, match="destination key is longer"):
        BUCKET_ROOT.map_path(f"/{long_name}", "dest")
    with pytest.raises(UnmappablePathError, match="staging key is longer"):
        BUCKET_ROOT.map_path(f"/{long_name}x")


def test_mapping_is_injective_for_distinct_paths() -> None:
    paths = ["/a/b", "/a/b ", "/a /b", "/a+b", "/a%2Fb", "/A/b", "/a/B"]
    keys = {BUCKET_ROOT.map_path(p, "x").dest_key for p in paths}
    assert len(keys) == len(paths)


# -- validating mappings and user input ------------------------------------------------------


def test_base_path_in_another_bucket_is_an_invalid_mapping() -> None:
    with pytest.raises(InvalidMappingError, match="not the staging bucket"):
        CollectionMapping(bucket="staging", base_path="/elsewhere/dir")


@pytest.mark.parametrize("base", ["relative", "/a/../b", "/a/./b", "/a//b"])
def test_malformed_base_paths_are_refused(base: str) -> None:
    with pytest.raises(InvalidMappingError):
        normalize_base_path(base)


def test_base_paths_are_normalized() -> None:
    assert normalize_base_path("/") == "/"
    assert normalize_base_path("/staging") == "/staging/"
    assert normalize_base_path(" /staging/in/ ") == "/staging/in/"


def test_prefixes_are_normalized_and_traversal_refused() -> None:
    assert normalize_prefix("") == ""
    assert normalize_prefix("/") == ""
    assert normalize_prefix("/a/b") == "a/b/"
    with pytest.raises(InvalidMappingError):
        normalize_prefix("a/../b")


def test_covers_directory_tells_whether_files_below_would_map() -> None:
    assert GATEWAY_ROOT.covers_directory("/staging/run1/")
    assert not GATEWAY_ROOT.covers_directory("/other/run1/")
    assert not GATEWAY_ROOT.covers_directory("/")
    assert FOLDER_ROOT.covers_directory("/")


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("dest-bucket", ("dest-bucket", "")),
        ("dest-bucket/", ("dest-bucket", "")),
        ("dest-bucket/a/b", ("dest-bucket", "a/b/")),
        ("s3://dest-bucket/a", ("dest-bucket", "a/")),
        ("Legacy_Bucket/x", ("Legacy_Bucket", "x/")),
    ],
)
def test_bucket_targets_split_into_bucket_and_prefix(
    target: str, expected: tuple[str, str]
) -> None:
    assert parse_bucket_target(target) == expected


@pytest.mark.parametrize("target", ["", "/prefix", "a", "bad bucket/x", "b/../x"])
def test_malformed_bucket_targets_are_refused(target: str) -> None:
    with pytest.raises(PathError):
        parse_bucket_target(target)


def test_collection_paths_parse_like_the_globus_cli() -> None:
    cid = "6B0A1C5E-8F0E-4C9A-9D39-5A3B1F0C2E7D"
    assert parse_collection_path(f"{cid}:/data/run 1/") == (cid.lower(), "/data/run 1/")
    with pytest.raises(PathError):
        parse_collection_path(f"{cid}:relative")
    with pytest.raises(PathError):
        parse_collection_path("not-a-uuid:/x")


def test_uuids_are_canonicalized_or_refused_naming_what_was_expected() -> None:
    assert parse_uuid(" 6b0a1c5e8f0e4c9a9d395a3b1f0c2e7d ", what="task id") == (
        "6b0a1c5e-8f0e-4c9a-9d39-5a3b1f0c2e7d"
    )
    with pytest.raises(PathError, match="not a valid task id"):
        parse_uuid("1234", what="task id")
