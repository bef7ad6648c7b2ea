"""A real Mosquitto broker for tests: its own config, password file and ACL in a temporary folder, on a free
port, with persistence so that a restart keeps queued QoS 1 messages, as in production. The process is run
by ``plumbing.Mosquitto``, as the demo's and the benchmarks' are."""

import getpass
import time
from dataclasses import dataclass
from typing import Self

from plumbing import Mosquitto
from sync_protocol.broker_config import CLIENT_ID_IS_USERNAME, TCP_NODELAY


@dataclass
class MosquittoBroker(Mosquitto):
    password_file_text: str | None = None
    acl_text: str | None = None

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
            "log_type error",  # to standard error, which plumbing.Mosquitto keeps in mosquitto.log
            "log_type warning",
            "log_type notice",
            "max_queued_messages 100000",
            TCP_NODELAY,  # as deployed (sync_protocol.broker_config)
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

    def start(self) -> Self:
        self.write_config()
        return super().start()

    def reload(self) -> None:
        """Re-read the password file and ACL (SIGHUP), as the cloud does after changing credentials."""
        self.write_config()
        super().reload()
        time.sleep(0.3)  # the signal only sets a flag; Mosquitto reloads at its next loop: wait for it
