"""The MQTT transport: one paho-mqtt client with the settings sync needs, and nothing about what is sent.

- MQTT 5, QoS 1, a persistent session (clean start off, a session expiry), so messages for a node that is
  offline wait at the broker and subscriptions survive a reconnect;
- a received message is acknowledged (PUBACK) only after its handler returned, so a process that dies
  mid-handler gets the message again (at-least-once; exactly-once effects come from idempotent handlers). A
  handler that raises is logged and acknowledged all the same (see ``_handled`` for why);
- the handler runs on paho's network thread (the default: the store node's sync agent), or, with
  ``handler_threads``, on a pool of its own (``sync_protocol.ordered_work``), one message at a time per topic:
  the network thread only hands a message over, and the pool's thread sends its PUBACK after the handler;
- reconnect with exponential backoff (paho's own, 1 s doubling to a ceiling), username/password and TLS;
- a last will, so the cloud learns a node went away without saying goodbye;
- TCP_NODELAY on the socket (``_socket_opened``), as the broker sets it on its side.

This is the one module of ``sync_protocol`` that does I/O; the rest is pure.
"""

import logging
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from sync_protocol.ordered_work import OrderedWork

log = logging.getLogger(__name__)

MessageHandler = Callable[[str, bytes], None]

RECEIVE_MAXIMUM = 100
"""With ``handler_threads``: the most deliveries the broker may have sent this client and not had
acknowledged (MQTT 5 Receive Maximum, sent in CONNECT). Mosquitto 2.0 takes it in place of its own
``max_inflight_messages`` (20 by default, 100 in ``broker_config``), which bounds them when a client sends
none (seen on 2.0.11: a client's 50 and 200 both held against a configured 100). paho sends none of its own:
``max_inflight_messages_set`` bounds only the QoS 1 messages paho itself publishes. A message is
acknowledged when its handler is done, so at most this many are handed over and not finished, and a pool
that holds this many waiting never blocks the network thread (what waits when a connection ends is dropped:
the broker sends it again on the next)."""


CLOSE_WAIT_S = 15.0
"""How long ``close`` waits for the running handlers (a batch retrying while Postgres is down ends its pauses
at close, but a statement may still be in flight): a stuck one keeps its daemon thread, not the shutdown."""


@dataclass(frozen=True)
class MqttSettings:
    host: str
    port: int = 1883
    client_id: str = ""
    username: str | None = None
    password: str | None = None
    tls: bool = False
    ca_file: str | None = None
    keepalive_s: int = 30
    session_expiry_s: int = 7 * 24 * 3600  # a node may be offline for a week and find its messages waiting
    reconnect_min_s: int = 1
    reconnect_max_s: int = 60
    will_topic: str | None = None
    will_payload: bytes = b""

    @classmethod
    def from_url(cls, url: str, **overrides: object) -> "MqttSettings":
        """``mqtt://user:pass@host:1883`` or ``mqtts://...`` (TLS, port 8883 by default)."""
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ValueError(f"not an MQTT URL: {parts.scheme}://{parts.hostname or ''}")
        tls = parts.scheme == "mqtts"
        values: dict[str, object] = {
            "host": parts.hostname,
            "port": parts.port or (8883 if tls else 1883),
            "tls": tls,
            "username": unquote(parts.username) if parts.username else None,
            "password": unquote(parts.password) if parts.password else None,
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]


class MqttLink:
    """A connected client. Thread-safe to publish from any thread. The handler runs on paho's network thread,
    or with ``handler_threads`` on that many threads of its own, one message at a time per topic (in the
    order the broker delivered them) and messages of different topics at once."""

    def __init__(
        self, settings: MqttSettings, on_message: MessageHandler | None = None, *, handler_threads: int = 0
    ) -> None:
        self.settings = settings
        self._on_message = on_message
        self._work = (
            OrderedWork(handler_threads, capacity=RECEIVE_MAXIMUM, name="mqtt-handler")
            if handler_threads and on_message is not None
            else None
        )
        # Counts the connections that ended: a PUBACK goes only on the connection that delivered the message.
        # A message handed over before a disconnect is delivered again on the next connection (same packet
        # id, the session resumed); a late PUBACK of the first copy would free that id at the broker, which
        # may reuse it for another message, acknowledging that one before its handler ran.
        self._connection = 0
        self._acking = threading.Lock()  # held while an ack is checked against the connection and sent
        self._closing = False
        self._subscriptions: dict[str, int] = {}
        # Held while the subscriptions are read or changed, and while ``connected`` is set: a subscribe from
        # another thread either lands in the list the connect renews, or is sent after the flag is up.
        self._subscribing = threading.Lock()
        self._dropped: set[str] = set()  # unsubscribed while away: dropped at the next connect
        self.connected = threading.Event()
        self.state_listeners: list[Callable[[bool], None]] = []
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=settings.client_id,
            protocol=mqtt.MQTTv5,
            reconnect_on_failure=True,
            manual_ack=True,
        )
        if settings.username is not None:
            client.username_pw_set(settings.username, settings.password)
        if settings.tls:
            client.tls_set(ca_certs=settings.ca_file, cert_reqs=ssl.CERT_REQUIRED)
        if settings.will_topic:
            client.will_set(settings.will_topic, settings.will_payload, qos=1, retain=True)
        client.reconnect_delay_set(settings.reconnect_min_s, settings.reconnect_max_s)
        client.max_inflight_messages_set(100)
        client.on_socket_open = self._socket_opened
        client.on_connect = self._connected
        client.on_disconnect = self._disconnected
        client.on_message = self._message
        self._client = client

    # -- lifecycle ----------------------------------------------------------------------------------------

    def start(self, *, wait_s: float | None = 10.0) -> bool:
        """Connect in the background (retrying forever); with ``wait_s``, wait that long for the first
        connection and say whether it came."""
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = self.settings.session_expiry_s
        if self._work is not None:
            props.ReceiveMaximum = RECEIVE_MAXIMUM  # the pool's room: see RECEIVE_MAXIMUM
        self._client.connect_async(
            self.settings.host,
            self.settings.port,
            keepalive=self.settings.keepalive_s,
            clean_start=False,
            properties=props,
        )
        self._client.loop_start()
        return self.connected.wait(wait_s) if wait_s else self.connected.is_set()

    def close(self) -> None:
        """Disconnect cleanly (the broker does not send the last will) and stop the network thread. With
        ``handler_threads``, first: take no more messages, let the handlers running finish (and acknowledge
        their messages), and drop those waiting, unacknowledged, for the broker to deliver again."""
        if self._work is not None:
            self._closing = True
            dropped = self._work.close(drop_waiting=True, timeout_s=CLOSE_WAIT_S)
            if dropped:
                log.info(
                    "%d message(s) left unacknowledged at close; the broker delivers them again", dropped
                )
        self._client.disconnect()
        self._client.loop_stop()
        # paho 2.x opens a wake-up socket pair in loop_start and closes it only when the client is garbage
        # collected (its __del__): a process that makes and closes many links (the tests, a cloud that
        # reconnects) would hold them open until then. Its own reset closes just that pair.
        reset = getattr(self._client, "_reset_sockets", None)
        if callable(reset):
            reset(sockpair_only=True)
        self.connected.clear()

    def local_address(self) -> str | None:
        """The address this end of the connection to the broker has (the machine's address on the network
        that reaches the broker), or None while not connected."""
        sock = self._client.socket()
        getsockname = getattr(sock, "getsockname", None)  # a socket, or paho's TLS or WebSocket wrapper
        if getsockname is None or not self.connected.is_set():
            return None
        try:
            name = getsockname()
        except OSError:
            return None
        if not isinstance(name, tuple) or not name:
            return None
        host = str(name[0])
        return host.partition("%")[0] or None  # an IPv6 link-local address's zone is not part of the address

    # -- messaging ----------------------------------------------------------------------------------------

    def subscribe(self, topic_filter: str, qos: int = 1) -> None:
        """Remembered and renewed on every connection (the session keeps it too, unless it expired). Any
        thread may call it."""
        with self._subscribing:
            self._subscriptions[topic_filter] = qos
            self._dropped.discard(topic_filter)
            if self.connected.is_set():
                self._client.subscribe(topic_filter, qos=qos)

    def unsubscribe(self, topic_filter: str) -> None:
        """Forgotten, and dropped at the broker (also from a persistent session that had it before)."""
        with self._subscribing:
            self._subscriptions.pop(topic_filter, None)
            if self.connected.is_set():
                self._client.unsubscribe(topic_filter)
            else:
                self._dropped.add(topic_filter)

    def publish(
        self,
        topic: str,
        payload: bytes,
        *,
        qos: int = 1,
        retain: bool = False,
        timeout_s: float = 10,
        wait: bool = True,
    ) -> bool:
        """Publish and wait for the broker's acknowledgement; False when it did not come in time (the
        message may still be delivered later: callers treat False as 'not known to be sent')."""
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc == mqtt.MQTT_ERR_NO_CONN:
            return False
        if not wait:  # from an inline handler: the network thread that would see the ack is running it
            return True
        try:
            info.wait_for_publish(timeout_s)
        except (RuntimeError, ValueError):
            return False
        return info.is_published()

    # -- paho callbacks (network thread) ------------------------------------------------------------------

    @staticmethod
    def _socket_opened(_client: mqtt.Client, _userdata: object, sock: object) -> None:
        """Turn Nagle's algorithm off. A batch, an ack and a PUBACK are each one small write answered by the
        other side: with Nagle on, a write waits for the ack of the previous one, which the peer's delayed
        ACK holds back, and every batch -> ack round trip took about 88 ms (0.44 ms with this and the
        broker's ``set_tcp_nodelay``, issue 22)."""
        # A TCP or TLS socket; paho's WebSocket wrapper has no setsockopt.
        setsockopt = getattr(sock, "setsockopt", None)
        if setsockopt is None:
            return
        try:
            setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError as exc:  # not TCP (a Unix socket): nothing to turn off
            log.debug("TCP_NODELAY not set: %s", exc)

    def _connected(
        self, client: mqtt.Client, _userdata: object, _flags: object, reason: object, _props: object
    ) -> None:
        if getattr(reason, "is_failure", False):
            log.warning("MQTT connection refused: %s", reason)
            return
        with self._subscribing:
            for topic_filter in self._dropped:  # the resumed session may still hold them
                client.unsubscribe(topic_filter)
            self._dropped.clear()
            for topic_filter, qos in self._subscriptions.items():
                client.subscribe(topic_filter, qos=qos)
            self.connected.set()
        self._notify(True)

    def _disconnected(
        self, _client: mqtt.Client, _userdata: object, _flags: object, reason: object, _props: object
    ) -> None:
        with self._acking:
            self._connection += 1
        if self._work is not None:
            # What waits came on the connection that ended and will not be acknowledged on the next: the
            # broker delivers it again there (the node sends an uplink batch again when its session is
            # gone). Kept, it would run twice and fill the pool's room, blocking this thread while the
            # broker resends its window.
            dropped = self._work.drop_waiting()
            if dropped:
                log.info(
                    "%d message(s) of the ended connection dropped; the broker delivers them again", dropped
                )
        if self.connected.is_set():
            log.info("MQTT disconnected (%s); reconnecting with backoff", reason)
        self.connected.clear()
        self._notify(False)

    def _message(self, client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
        if self._work is None:
            self._handled(message.topic, bytes(message.payload))
            # After the handler: a process that dies while handling never acknowledges, so the broker
            # redelivers.
            client.ack(message.mid, message.qos)
            return
        if self._closing:
            return  # not acknowledged: delivered again to the next session
        task = partial(self._handle_then_ack, message, self._connection)
        # Blocks only when the pool's room is full, which the broker's window keeps from happening
        # (RECEIVE_MAXIMUM); False when closing: the message stays unacknowledged.
        self._work.submit(message.topic, task)

    def _handle_then_ack(self, message: mqtt.MQTTMessage, connection: int) -> None:
        """On a pool thread. paho's ``ack`` (``_send_puback``) and ``publish`` only queue a packet on a deque
        (``_packet_queue``; ``publish`` takes its message id and table under their own locks) and wake the
        network thread through its socket pair, which then writes it: both are safe from any thread while
        ``loop_start``'s thread runs the socket (paho-mqtt 2.2.0)."""
        if connection != self._connection:
            return  # taken before its connection ended: it comes again, and is handled then
        self._handled(message.topic, bytes(message.payload))
        with self._acking:
            if connection == self._connection:
                self._client.ack(message.mid, message.qos)
            else:
                log.debug("no PUBACK for a message of a connection that ended (mid %d)", message.mid)

    def _handled(self, topic: str, payload: bytes) -> None:
        if self._on_message is None:
            return
        try:
            self._on_message(topic, payload)
        except Exception:
            # Acknowledged all the same. An unacknowledged delivery keeps one of the broker's in-flight
            # slots until a reconnect (MQTT 5 brokers do not resend on the same connection), so a few
            # failures, say while Postgres is down, would stop all delivery to this client. What is lost
            # here the protocol brings back: an uplink batch without an ack is sent again by the node, an
            # ack not applied leaves rows the node sends again, and a downlink message not applied shows up
            # as a gap or in the node's next status.
            log.exception("handler failed for a message on %s; the sender will send it again", topic)

    def _notify(self, up: bool) -> None:
        for listener in list(self.state_listeners):
            try:
                listener(up)
            except Exception:
                log.exception("MQTT state listener failed")
