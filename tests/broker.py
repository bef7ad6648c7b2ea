"""A real Mosquitto broker for tests: its own config, password file and ACL in a temporary folder, on a free
port, with persistence so that a restart keeps queued QoS 1 messages, as in production."""

import getpass
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt

from plumbing import free_port
from sync_protocol.broker_config import CLIENT_ID_IS_USERNAME

MOSQUITTO = "/usr/sbin/mosquitto"


@dataclass
class MosquittoBroker:
    folder: Path
    password_file_text: str | None = None
    acl_text: str | None = None
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def config_path(self) -> Path:
        return self.folder / "mosquitto.conf"

    def write_config(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        lines = [
            # Started as root, mosquitto drops to the 'mosquitto' user, which could not write persistence or
            # logs in a test's private folder: stay the user who runs the tests.
            f"user {getpass.getuser()}",
            f"listener {self.port} 127.0.0.1",
            "persistence true",
            f"persistence_location {self.folder}/",
            "autosave_interval 1",
            f"log_dest file {self.folder / 'mosquitto.log'}",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "max_queued_messages 100000",
        ]
        if self.password_file_text is None:
            lines.append("allow_anonymous true")
        else:
            (self.folder / "passwords").write_text(self.password_file_text)
            (self.folder / "passwords").chmod(0o600)
            # The deployment's binding of the client id to the login (sync_protocol.broker_config), which
            # only means something with logins (without a username Mosquitto would refuse the client).
            lines += [
                "allow_anonymous false",
                f"password_file {self.folder / 'passwords'}",
                CLIENT_ID_IS_USERNAME,
            ]
        if self.acl_text is not None:
            (self.folder / "acl").write_text(self.acl_text)
            lines.append(f"acl_file {self.folder / 'acl'}")
        self.config_path.write_text("\n".join(lines) + "\n")

    def start(self) -> "MosquittoBroker":
        self.write_config()
        self.process = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.config_path)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        self._wait_until_listening()
        return self

    def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                err = self.process.stderr.read().decode() if self.process.stderr else ""
                raise RuntimeError(f"mosquitto exited: {err}{self.log()}")
            probe = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
            try:
                probe.connect("127.0.0.1", self.port, keepalive=5)
                probe.disconnect()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start listening")

    def stop(self) -> None:
        self._end(signal.SIGTERM)

    def kill(self) -> None:
        self._end(signal.SIGKILL)

    def _end(self, sig: signal.Signals) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                self.process.send_signal(sig)
                self.process.wait(timeout=10)
            if self.process.stderr is not None:
                self.process.stderr.close()
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def reload(self) -> None:
        """Re-read the password file and ACL (SIGHUP), as the cloud does after changing credentials."""
        self.write_config()
        assert self.process is not None
        self.process.send_signal(signal.SIGHUP)
        time.sleep(0.3)

    def log(self) -> str:
        path = self.folder / "mosquitto.log"
        return path.read_text() if path.exists() else ""
