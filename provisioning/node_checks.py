"""The checks ``edgestore doctor`` runs on a running node: from what its ``/health`` says (reachable, its
database, the cloud link, the recognition model), the outbox backlog read from its database, and its
systemd services. Pure functions of what was read, like ``provisioning.checks``."""

from collections.abc import Sequence
from datetime import datetime, timedelta

from models.node_api import Health, StreamBacklog
from plumbing.i18n import N_
from provisioning.checks import Check, Status, line, words
from provisioning.machine import Machine

# Outbox age: past an hour a linked node should have sent; past a day something is wrong.
OUTBOX_WARN_AGE = timedelta(hours=1)
OUTBOX_FAIL_AGE = timedelta(days=1)


def check_node(url: str, health: Health | None) -> Check:
    title = words(N_("title.node"))
    if health is None:
        return line(
            "node",
            Status.FAIL,
            N_("title.node"),
            N_("node.unreachable"),
            N_("node.advice.unreachable"),
            url=url,
        )
    if not health.database_ok:
        return line("node", Status.FAIL, N_("title.node"), N_("node.database"), N_("node.advice.database"))
    return Check(
        "node", Status.PASS, title, words(N_("node.pass"), version=health.version, device=health.device_id)
    )


def check_broker(health: Health | None, mqtt_configured: bool) -> Check:
    """Broker reachable and our login accepted: the node's own link state (it is connected only after the
    broker accepted its device login)."""
    title = words(N_("title.broker"))
    if not mqtt_configured:
        return Check("broker", Status.ABSENT, title, words(N_("broker.notConfigured")))
    if health is None:
        return Check("broker", Status.WARN, title, words(N_("unknown.nodeDown")))
    if health.cloud.connected:
        return Check("broker", Status.PASS, title, words(N_("broker.pass")))
    last = health.cloud.last_contact_at
    detail = (
        words(N_("broker.lost"), at=last.isoformat(timespec="seconds"))
        if last is not None
        else words(N_("broker.never"))
    )
    return Check("broker", Status.FAIL, title, detail, words(N_("broker.advice")))


def _age(delta: timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"


def check_outbox(streams: Sequence[StreamBacklog] | None, now: datetime, mqtt_configured: bool) -> Check:
    """What waits to go up and how old its oldest row is. A node with no broker configured keeps its sales
    on purpose, so an old backlog there is only a warning."""
    title = words(N_("title.outbox"))
    if streams is None:
        return line(
            "outbox", Status.FAIL, N_("title.outbox"), N_("outbox.unreadable"), N_("outbox.advice.unreadable")
        )
    pending = sum(s.pending for s in streams)
    oldest = min((s.oldest_pending_at for s in streams if s.oldest_pending_at is not None), default=None)
    if pending == 0 or oldest is None:
        return Check("outbox", Status.PASS, title, words(N_("outbox.empty")))
    age = now - oldest
    detail = words(N_("outbox.pending"), count=pending, age=_age(age))
    if age > OUTBOX_FAIL_AGE and mqtt_configured:
        return Check("outbox", Status.FAIL, title, detail, words(N_("outbox.advice")))
    if age > OUTBOX_WARN_AGE:
        advice = words(N_("outbox.advice")) if mqtt_configured else words(N_("outbox.advice.offline"))
        return Check("outbox", Status.WARN, title, detail, advice)
    return Check("outbox", Status.PASS, title, detail)


def check_model(health: Health | None, recognition_enabled: bool) -> Check:
    title = words(N_("title.model"))
    if not recognition_enabled:
        return Check("model", Status.ABSENT, title, words(N_("model.notConfigured")))
    if health is None:
        return Check("model", Status.WARN, title, words(N_("unknown.nodeDown")))
    recognition = health.recognition
    if recognition is not None and recognition.loaded:
        return Check(
            "model", Status.PASS, title, words(N_("model.pass"), version=recognition.model_version or "?")
        )
    if recognition is not None and recognition.rejected is not None:
        detail = words(N_("model.rejected"), reason=recognition.rejected.reason)
    else:
        detail = words(N_("model.missing"))
    return Check("model", Status.FAIL, title, detail, words(N_("model.advice")))


def check_service(machine: Machine, unit: str) -> Check:
    """A systemd unit is running; absent where there is no systemd or the unit is not installed here."""
    check_id = f"service.{unit.removesuffix('.service')}"
    title = words(N_("title.service"), unit=unit)
    loaded = machine.run(["systemctl", "show", "-p", "LoadState", "--value", unit])
    if loaded is None or loaded.strip() in {"", "not-found"}:
        return Check(check_id, Status.ABSENT, title, words(N_("service.notInstalled")))
    state = (machine.run(["systemctl", "is-active", unit]) or "unknown").strip()
    if state == "active":
        return Check(check_id, Status.PASS, title, words(N_("service.active")))
    return Check(
        check_id,
        Status.FAIL,
        title,
        words(N_("service.inactive"), state=state),
        words(N_("service.advice"), unit=unit),
    )
