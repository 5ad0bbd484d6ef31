"""host_probe's readers on real files of the test's own directory (no host is changed)."""

import hashlib
import os

from ansible_collections.rtcstack.livekit.plugins.modules import host_probe


def test_a_file_gets_mode_owner_and_sha1(tmp_path):
    f = tmp_path / "conf"
    f.write_bytes(b"listening-port=3478\n")
    f.chmod(0o640)
    found = host_probe.stat_path(str(f))
    assert found == {"exists": True, "dir": False, "mode": "0640",
                     "owner": host_probe.user_name(os.getuid()), "group": host_probe.group_name(os.getgid()),
                     "sha1": hashlib.sha1(b"listening-port=3478\n", usedforsecurity=False).hexdigest()}


def test_a_directory_has_no_sha1_and_a_missing_path_only_exists_false(tmp_path):
    assert "sha1" not in host_probe.stat_path(str(tmp_path))
    assert host_probe.stat_path(str(tmp_path))["dir"] is True
    assert host_probe.stat_path(str(tmp_path / "missing")) == {"exists": False}


def test_a_link_is_followed_and_its_target_given(tmp_path):
    (tmp_path / "v1").write_text("x")
    os.symlink(str(tmp_path / "v1"), str(tmp_path / "current"))
    found = host_probe.stat_path(str(tmp_path / "current"))
    assert found["link"] == str(tmp_path / "v1") and found["sha1"] == hashlib.sha1(b"x", usedforsecurity=False).hexdigest()


def test_unknown_ids_fall_back_to_numbers():
    assert host_probe.user_name(2 ** 31 - 3) == str(2 ** 31 - 3)
    assert host_probe.group_name(2 ** 31 - 3) == str(2 ** 31 - 3)


def test_the_marker_is_found_across_blocks_and_only_in_regular_files(tmp_path):
    f = tmp_path / "redis.conf"
    f.write_bytes(b"x" * 65530 + b"# managed-by-rtcstack\n")
    assert host_probe.stat_path(str(f), b"managed-by-rtcstack")["marker"] is True
    assert host_probe.stat_path(str(f), b"other-marker")["marker"] is False
    assert "marker" not in host_probe.stat_path(str(f))
    assert "marker" not in host_probe.stat_path(str(tmp_path), b"managed-by-rtcstack")


def test_texts_are_read_stripped_and_a_missing_one_is_none(tmp_path):
    f = tmp_path / "enabled"
    f.write_text("always madvise [never]\n")
    assert host_probe.read_text(str(f)) == "always madvise [never]"
    assert host_probe.read_text(str(tmp_path / "missing")) is None
