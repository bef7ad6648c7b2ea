"""The steps of ``edgestore provision`` as checklist lines: each step's outcome becomes a ``Check`` (pass, fail
with what to do, or absent when it did not apply), shown with the machine's checks by
``provisioning.report``. Pure: the command runs the steps and hands their outcomes here."""

from collections.abc import Sequence

from plumbing.i18n import N_
from provisioning.checks import Check, Status, line

# What to do about each refusal of a claim, by the cloud's error code.
_CLAIM_ADVICE = {
    "claimCodeUsed": N_("claim.advice.used"),
    "claimCodeExpired": N_("claim.advice.expired"),
    "claimCodeNotFound": N_("claim.advice.notFound"),
    "tooManyAttempts": N_("claim.advice.tooMany"),
    "unreachable": N_("claim.advice.unreachable"),
    "validationFailed": N_("claim.advice.invalid"),
}


def claim_kept(device_id: str, store_id: str) -> Check:
    """A device that claimed its place on an earlier run: no code is used, no second device is made."""
    return line(
        "claim", Status.PASS, N_("title.claim"), N_("claim.kept"), None, device=device_id, store=store_id
    )


def claim_done(device_id: str, store_name: str) -> Check:
    return line(
        "claim", Status.PASS, N_("title.claim"), N_("claim.done"), None, device=device_id, store=store_name
    )


def claim_missing() -> Check:
    return line("claim", Status.FAIL, N_("title.claim"), N_("claim.missing"), N_("claim.advice.missing"))


def claim_refused(code: str, message: str) -> Check:
    advice = _CLAIM_ADVICE.get(code, N_("claim.advice.other"))
    return line(
        "claim", Status.FAIL, N_("title.claim"), N_("claim.refused"), advice, code=code, message=message
    )


def claim_not_kept(device_id: str, error: str) -> Check:
    """Claimed, but the login could not be written: the device exists in the cloud with a login nobody has."""
    return line(
        "claim",
        Status.FAIL,
        N_("title.claim"),
        N_("claim.notKept"),
        N_("claim.advice.notKept"),
        device=device_id,
        error=error,
    )


def database_moved(path: str, store: str) -> Check:
    """Another store's database was in the data folder: moved aside, kept, not used."""
    return line(
        "database.aside",
        Status.WARN,
        N_("title.database"),
        N_("database.moved"),
        N_("database.advice.moved"),
        path=path,
        store=store,
    )


def config_written(path: str, changed: bool) -> Check:
    detail = N_("config.written") if changed else N_("config.unchanged")
    return line("config", Status.PASS, N_("title.config"), detail, None, path=path)


def config_failed(path: str, error: str) -> Check:
    return line(
        "config",
        Status.FAIL,
        N_("title.config"),
        N_("config.failed"),
        N_("config.advice"),
        path=path,
        error=error,
    )


def database_ready(path: str, schema: str | None) -> Check:
    return line(
        "database",
        Status.PASS,
        N_("title.database"),
        N_("database.ready"),
        None,
        path=path,
        schema=schema or "?",
    )


def database_failed(path: str, error: str) -> Check:
    return line(
        "database",
        Status.FAIL,
        N_("title.database"),
        N_("database.failed"),
        N_("database.advice"),
        path=path,
        error=error,
    )


def catalog_taken(version: int, products: int, *, before: bool) -> Check:
    detail = N_("catalog.kept") if before else N_("catalog.taken")
    return line("catalog", Status.PASS, N_("title.catalog"), detail, None, version=version, products=products)


def catalog_no_broker() -> Check:
    return line(
        "catalog", Status.FAIL, N_("title.catalog"), N_("catalog.noBroker"), N_("catalog.advice.noBroker")
    )


def catalog_failed(reason: str, *, connected: bool) -> Check:
    advice = N_("catalog.advice.slow") if connected else N_("catalog.advice.unreachable")
    return line("catalog", Status.FAIL, N_("title.catalog"), N_("catalog.failed"), advice, reason=reason)


def skipped(check_id: str, title: str) -> Check:
    """A step not run because one before it failed (it runs on the next try)."""
    return line(check_id, Status.FAIL, title, N_("step.skipped"), N_("step.advice.rerun"))


def units_installed(enabled: Sequence[str], started: bool | None) -> Check:
    """``started``: True when systemd started them, False when it was asked and failed, None when it was not
    asked (another root, or no systemd running): they start at the next boot."""
    names = ", ".join(enabled)
    if started is False:
        return line(
            "units",
            Status.FAIL,
            N_("title.units"),
            N_("units.notStarted"),
            N_("units.advice.notStarted"),
            units=names,
        )
    detail = N_("units.started") if started else N_("units.atBoot")
    return line("units", Status.PASS, N_("title.units"), detail, None, units=names)


def units_hidden_python(python: str) -> Check:
    return line(
        "units",
        Status.FAIL,
        N_("title.units"),
        N_("units.hiddenPython"),
        N_("units.advice.hiddenPython"),
        python=python,
    )


def units_failed(error: str) -> Check:
    return line("units", Status.FAIL, N_("title.units"), N_("units.failed"), N_("units.advice"), error=error)


def service_user(name: str, made: bool | None) -> Check:
    """The account the services run as: made now (True), there already (False), or not made here (None: not
    the running system, or not root)."""
    if made is None:
        return line("user", Status.ABSENT, N_("title.user"), N_("user.notHere"), user=name)
    return line(
        "user", Status.PASS, N_("title.user"), N_("user.made") if made else N_("user.there"), user=name
    )


def service_user_failed(name: str, error: str) -> Check:
    return line(
        "user", Status.FAIL, N_("title.user"), N_("user.failed"), N_("user.advice"), user=name, error=error
    )


# What the command says while it works (each on its own line, to standard error).
PROGRESS_CHECKS = N_("progress.checks")
PROGRESS_CLAIM = N_("progress.claim")
PROGRESS_DATABASE = N_("progress.database")
PROGRESS_CONNECT = N_("progress.connect")
PROGRESS_WAITING = N_("progress.waiting")
PROGRESS_UNITS = N_("progress.units")
NEXT_OK = N_("next.ok")
NEXT_FAIL = N_("next.fail")
