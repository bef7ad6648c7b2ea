"""``edgestore edge status`` against a real node, through typer's CliRunner."""

import sqlite3

import pytest
from typer.testing import CliRunner

from edge.demo_catalog import DEMO_STORE_ID
from edgestore.cli import app
from models.sales import PaymentMethod
from models.staff import StaffRole
from node_client import API_PREFIX, NodeClient
from plumbing import free_port
from tests.edge.conftest import edge as edge  # the real node of tests/edge, served per test
from tests.edge.helpers import add_staff

runner = CliRunner()


@pytest.fixture
def address(edge) -> str:
    add_staff(edge.settings, "值班 Duty", StaffRole.CASHIER, "1357")
    return edge.base_url.removesuffix(API_PREFIX)


STAFF = ["--staff", "值班 Duty"]


def test_status_prints_health_and_sync(address):
    result = runner.invoke(app, ["edge", "status", "--edge-url", address, *STAFF], input="1357\n")
    assert result.exit_code == 0, result.output
    with NodeClient(address) as client:
        device = client.health().device_id
    lines = result.stdout.splitlines()[1:]  # after the PIN prompt
    assert result.stdout.startswith("PIN: ")
    assert lines[0] == f"store node {address}{API_PREFIX}"
    assert lines[1].startswith("status      ok (version ")
    assert f"store       {DEMO_STORE_ID}" in lines
    assert f"device      {device}" in lines
    assert "database    ok" in lines
    assert "catalog     version 1" in lines
    assert "cloud       offline, last contact never" in lines
    assert "sync        0 waiting for the cloud, last ack never" in lines


def test_status_shows_what_waits_for_the_cloud(address):
    with NodeClient(address) as client:
        client.checkout(client.create_cart([("latte-1", 1), ("tissues-1", 2)]).cart_id, PaymentMethod.CASH)
    result = runner.invoke(
        app, ["edge", "status", "--edge-url", address, *STAFF], env={"EDGESTORE_STAFF_PIN": "1357"}
    )
    assert result.exit_code == 0, result.output
    assert "sync        3 waiting for the cloud, last ack never" in result.stdout
    orders = next(line for line in result.stdout.splitlines() if line.strip().startswith("orders"))
    assert "1 waiting, oldest " in orders


def test_a_degraded_node_is_said_so_and_exits_1(edge, address):
    with sqlite3.connect(edge.database_path) as conn:
        conn.execute("DROP TABLE node_state")  # what health reads about the node: now unreadable
    result = runner.invoke(app, ["edge", "status", "--edge-url", address, *STAFF, "--pin", "1357"])
    assert result.exit_code == 1, result.output
    assert "status      degraded (version " in result.stdout
    assert "database    NOT READABLE" in result.stdout
    assert "sync        0 waiting for the cloud, last ack never" in result.stdout


def test_without_a_staff_login_the_sync_status_is_not_shown_and_a_wrong_pin_is_said(address):
    result = runner.invoke(app, ["edge", "status", "--edge-url", address])
    assert result.exit_code == 0, result.output
    assert "sync        for staff only: add --staff NAME (the PIN is asked)" in result.stdout
    wrong = runner.invoke(app, ["edge", "status", "--edge-url", address, *STAFF, "--pin", "0000"])
    assert wrong.exit_code == 2
    assert "refused the staff login" in wrong.output


def test_status_asks_this_machines_node_by_default(edge):
    # A node bound to every address (a Pi serving kiosks) is asked on this machine's loopback.
    env = {"EDGESTORE_HOST": "0.0.0.0", "EDGESTORE_PORT": str(edge.settings.port)}
    result = runner.invoke(app, ["edge", "status"], env=env)
    assert result.exit_code == 0, result.output
    assert f"store node http://127.0.0.1:{edge.settings.port}{API_PREFIX}" in result.stdout


def test_an_unreachable_node_gets_a_clear_message():
    address = f"http://127.0.0.1:{free_port()}"
    result = runner.invoke(app, ["edge", "status", "--edge-url", address, "--timeout", "2"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert f"error: the store node at {address} is unreachable (" in result.stderr
    assert "is it running, and is that its address?" in result.stderr


def test_something_else_answering_is_not_taken_for_a_node(address):
    result = runner.invoke(app, ["edge", "status", "--edge-url", address + "/elsewhere"])
    assert result.exit_code == 2
    assert "did not answer as a node does: 404 notFound" in result.stderr
