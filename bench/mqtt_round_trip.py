"""Batch -> ack round trip over a real Mosquitto with Nagle's algorithm on and off (issue 22).

A "node" ``MqttLink`` publishes an uplink batch (QoS 1, a ``compact2+zstd`` batch of one test sale and of 50)
and waits for the "cloud" ``MqttLink``'s answer (QoS 1, an ack-sized message published from its handler, as
``cloud.sync_service`` does); no database in between, so what is timed is the transport alone. Twice: with
the broker's ``set_tcp_nodelay`` off and the clients' TCP_NODELAY not set (the project before issue 22), and
with both on (``sync_protocol.broker_config.TCP_NODELAY``, ``MqttLink._socket_opened``).

Run from the repository root::

    .venv/bin/python bench/mqtt_round_trip.py               # 200 round trips per size and setting
"""

import argparse
import queue
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from benchkit import code_line, host_lines, log, percentile, run_main, stop_on_signals

from plumbing import Mosquitto, free_port
from sync_protocol.broker_config import TCP_NODELAY
from sync_protocol.encoding import encode_batch
from sync_protocol.envelope import Batch
from sync_protocol.mqtt_link import MqttLink, MqttSettings
from tests.sync_protocol.sync_factories import batch, envelope, order

ACK = b'{"schemaVersion":1,"storeId":"01JSTORE0000000000000000A1","deviceId":"01JDEV00000000000000000NA1",'
ACK += b'"stream":"orders","highWaterSeq":50,"missing":[],"deadLettered":[]}'


def sales(n: int) -> Batch:
    return batch([envelope(i, order(i)) for i in range(1, n + 1)])


def start_broker(folder: Path, *, nodelay: bool) -> Mosquitto:
    port = free_port()
    lines = [f"listener {port} 127.0.0.1", "allow_anonymous true"]
    if nodelay:
        lines.append(TCP_NODELAY)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "mosquitto.conf").write_text("\n".join(lines) + "\n")
    return Mosquitto(folder, port=port).start()


def links(port: int, *, nodelay: bool, answers: "queue.Queue[float]") -> tuple[MqttLink, MqttLink]:
    """The cloud (answers every uplink with an ack from its handler) and the node (times the answers)."""
    cloud = MqttLink(MqttSettings(host="127.0.0.1", port=port, client_id="cloud"))

    def answer(_topic: str, _data: bytes) -> None:
        cloud.publish("ack/node", ACK, wait=False)  # from the handler, as cloud.sync_service acks

    cloud._on_message = answer
    node = MqttLink(
        MqttSettings(host="127.0.0.1", port=port, client_id="node"),
        lambda _topic, _data: answers.put(time.perf_counter()),
    )
    for link in (cloud, node):
        if not nodelay:
            link._client.on_socket_open = None  # the client as it was before issue 22: Nagle on
    cloud.subscribe("up/#")
    node.subscribe("ack/node")
    if not (cloud.start() and node.start()):
        raise RuntimeError("could not connect to the broker")
    time.sleep(0.5)  # the subscriptions settle
    return cloud, node


def round_trips(
    folder: Path, *, nodelay: bool, payloads: dict[str, bytes], count: int
) -> dict[str, list[float]]:
    broker = start_broker(folder, nodelay=nodelay)
    answers: queue.Queue[float] = queue.Queue()
    cloud, node = links(broker.port, nodelay=nodelay, answers=answers)
    try:
        out: dict[str, list[float]] = {}
        for name, data in payloads.items():
            times: list[float] = []
            for _ in range(count):
                started = time.perf_counter()
                if not node.publish("up/orders", data):
                    raise RuntimeError("the broker did not acknowledge a batch")
                times.append((answers.get(timeout=10) - started) * 1000)
            out[name] = sorted(times)
        return out
    finally:
        node.close()
        cloud.close()
        broker.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=200, help="round trips per batch size and setting")
    args = parser.parse_args()
    stop_on_signals()
    payloads = {
        "1 sale": encode_batch(sales(1)),
        "50 sales": encode_batch(sales(50)),
    }
    results: dict[bool, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory(prefix="edgestore-rtt-") as work:
        for nodelay in (False, True):
            log(f"TCP_NODELAY {'on' if nodelay else 'off'}: {args.count} round trips per batch")
            results[nodelay] = round_trips(
                Path(work) / str(nodelay), nodelay=nodelay, payloads=payloads, count=args.count
            )
    print("MQTT batch -> ack round trip (bench/mqtt_round_trip.py)")
    print(f"date:          {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}")
    for line in host_lines():
        print(line)
    print(f"code:          {code_line(Path(__file__).resolve().parents[1])}")
    print()
    print("| batch (bytes on the wire) | TCP_NODELAY | p50 | p95 | mean |")
    print("|---|---|---:|---:|---:|")
    for name, data in payloads.items():
        for nodelay in (False, True):
            t = results[nodelay][name]
            print(
                f"| {name} ({len(data):,} B) | {'broker + clients' if nodelay else 'off'} | "
                f"{percentile(t, 50):.2f} ms | {percentile(t, 95):.2f} ms | {statistics.fmean(t):.2f} ms |"
            )
    return 0


if __name__ == "__main__":
    run_main(main, "broker stopped, temp dir removed")
