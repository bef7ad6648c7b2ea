"""Which ingest worker takes which store (``sync_protocol.partition``): every store to exactly one worker,
the same in every process, spread evenly; INDEX/COUNT read strictly."""

import subprocess
import sys

import pytest

from sync_protocol.partition import Partition, store_partition
from sync_protocol.topics import cloud_workers_in, mosquitto_acl, worker_username


def test_every_store_goes_to_exactly_one_worker_and_they_share_evenly():
    ids = [f"store-{n}" for n in range(4000)]
    for count in (1, 2, 3, 4, 7):
        workers = [Partition(k, count) for k in range(count)]
        shares = [sum(1 for i in ids if w.owns(i)) for w in workers]
        assert sum(shares) == len(ids)
        assert all(sum(w.owns(i) for w in workers) == 1 for i in ids[:200])
        assert max(shares) - min(shares) < 0.15 * len(ids) / count


def test_the_same_store_goes_to_the_same_worker_in_another_process():
    """Python's own str hash is salted per process: the partition must not be."""
    here = [store_partition(f"s{n}", 4) for n in range(50)]
    code = "from sync_protocol.partition import store_partition; print([store_partition(f's{n}', 4) for n in range(50)])"
    there = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert there.strip() == str(here)


@pytest.mark.parametrize("text", ["", "1", "2/2", "-1/2", "a/b", "1/0", "0/2/3", "1 of 2"])
def test_a_partition_is_index_of_count(text: str):
    with pytest.raises(ValueError, match="INDEX"):
        Partition.parse(text)


def test_partitions_read_and_print_back():
    assert Partition.parse("1/4") == Partition(1, 4)
    assert Partition.parse(" 0 / 1 ").whole
    assert str(Partition(2, 3)) == "2/3"


def test_each_ingest_worker_has_its_own_broker_account_with_the_clouds_rights():
    assert [worker_username(k) for k in range(3)] == [
        "edgestore-cloud",
        "edgestore-cloud-1",
        "edgestore-cloud-2",
    ]
    acl = mosquitto_acl({"dev-1": "store-1"}, cloud_workers=3)
    blocks = acl.split("\n\n")
    for k in range(3):
        block = next(b for b in blocks if f"user {worker_username(k)}\n" in b + "\n")
        assert "topic read edgestore/v1/stores/+/up/+/+" in block
        assert "topic write edgestore/v1/stores/+/ack/+" in block
    assert mosquitto_acl(cloud_workers=1).count("user edgestore-cloud") == 1


def test_the_worker_accounts_in_a_password_file_are_counted():
    assert cloud_workers_in(["dev-1", "edgestore-cloud"]) == 1
    assert cloud_workers_in(["edgestore-cloud", "edgestore-cloud-1", "edgestore-cloud-3", "dev"]) == 4
    assert cloud_workers_in(["dev-1", "edgestore-cloud-x", "edgestore-cloudy"]) == 0
