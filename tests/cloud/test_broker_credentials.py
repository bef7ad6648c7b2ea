"""The cloud writes Mosquitto's password file itself, in the format mosquitto_passwd writes."""

import subprocess

import pytest

from cloud.broker_credentials import hash_password, password_file_lines, verify_password


def test_our_hashes_and_mosquitto_passwd_agree(tmp_path):
    path = tmp_path / "pw"
    subprocess.run(["/usr/bin/mosquitto_passwd", "-b", "-c", str(path), "dev-1", "s3cret"], check=True)
    user, theirs = path.read_text().strip().split(":", 1)
    assert user == "dev-1"
    assert verify_password("s3cret", theirs)
    assert not verify_password("s3cret!", theirs)
    ours = hash_password("s3cret")
    assert ours.startswith("$7$101$")
    assert verify_password("s3cret", ours)
    assert hash_password("s3cret") != ours  # salted


def test_password_file_lines_are_sorted_and_safe():
    text = password_file_lines({"b": "$7$1$x$y", "a": "$7$1$x$z"})
    assert text == "a:$7$1$x$z\nb:$7$1$x$y\n"
    with pytest.raises(ValueError, match="cannot contain"):
        password_file_lines({"a:b": "h"})
    assert not verify_password("x", "not a hash")
