"""The steps of ``edgestore provision`` as checklist lines: each step's outcome becomes a ``Check`` (pass, fail
with what to do, or absent when it did not apply), shown with the machine's checks by
``provisioning.report``. Pure: the command runs the steps and hands their outcomes here."""

from collections.abc import Sequence

from plumbing.i18n import N_
from provisioning.checks import Check, Status, words

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
    return Check(
        "claim",
        Status.PASS,
        words(N_("title.claim")),
        words(N_("claim.kept"), device=device_id, store=store_id),
    )


def claim_done(device_id: str, store_name: str) -> Check:
    return Check(
        "claim",
        Status.PASS,
        words(N_("title.claim")),
        words(N_("claim.done"), device=device_id, store=store_name),
    )


def claim_missing() -> Check:
    return Check(
        "claim",
        Status.FAIL,
        words(N_("title.claim")),
        words(N_("claim.missing")),
        words(N_("claim.advice.missing")),
    )


def claim_refused(code: str, message: str) -> Check:
    advice = _CLAIM_ADVICE.get(code, N_("claim.advice.other"))
    return Check(
        "claim",
        Status.FAIL,
        words(N_("title.claim")),
        words(N_("claim.refused"), code=code, message=message),
        words(advice),
    )


def claim_not_kept(device_id: str, error: str) -> Check:
    """Claimed, but the login could not be written: the device exists in the cloud with a login nobody has."""
    return Check(
        "claim",
        Status.FAIL,
        words(N_("title.claim")),
        words(N_("claim.notKept"), device=device_id, error=error),
        words(N_("claim.advice.notKept"), device=device_id),
    )


def database_moved(path: str, store: str) -> Check:
    """Another store's database was in the data folder: moved aside, kept, not used."""
    return Check(
        "database.aside",
        Status.WARN,
        words(N_("title.database")),
        words(N_("database.moved"), path=path, store=store),
        words(N_("database.advice.moved")),
    )


def config_written(path: str, changed: bool) -> Check:
    detail = N_("config.written") if changed else N_("config.unchanged")
    return Check("config", Status.PASS, words(N_("title.config")), words(detail, path=path))


def config_failed(path: str, error: str) -> Check:
    return Check(
        "config",
        Status.FAIL,
        words(N_("title.config")),
        words(N_("config.failed"), path=path, error=error),
        words(N_("config.advice")),
    )


def database_ready(path: str, schema: str | None) -> Check:
    return Check(
        "database",
        Status.PASS,
        words(N_("title.database")),
        words(N_("database.ready"), path=path, schema=schema or "?"),
    )


def database_failed(path: str, error: str) -> Check:
    return Check(
        "database",
        Status.FAIL,
        words(N_("title.database")),
        words(N_("database.failed"), path=path, error=error),
        words(N_("database.advice")),
    )


def catalog_taken(version: int, products: int, *, before: bool) -> Check:
    detail = N_("catalog.kept") if before else N_("catalog.taken")
    return Check(
        "catalog",
        Status.PASS,
        words(N_("title.catalog")),
        words(detail, version=version, products=products),
    )


def catalog_no_broker() -> Check:
    return Check(
        "catalog",
        Status.FAIL,
        words(N_("title.catalog")),
        words(N_("catalog.noBroker")),
        words(N_("catalog.advice.noBroker")),
    )


def catalog_failed(reason: str, *, connected: bool) -> Check:
    advice = N_("catalog.advice.slow") if connected else N_("catalog.advice.unreachable")
    return Check(
        "catalog",
        Status.FAIL,
        words(N_("title.catalog")),
        words(N_("catalog.failed"), reason=reason),
        words(advice),
    )


def skipped(check_id: str, title: str) -> Check:
    """A step not run because one before it failed (it runs on the next try)."""
    return Check(
        check_id, Status.FAIL, words(title), words(N_("step.skipped")), words(N_("step.advice.rerun"))
    )


def units_installed(enabled: Sequence[str], started: bool | None) -> Check:
    """``started``: True when systemd started them, False when it was asked and failed, None when it was not
    asked (another root, or no systemd running): they start at the next boot."""
    names = ", ".join(enabled)
    if started is False:
        return Check(
            "units",
            Status.FAIL,
            words(N_("title.units")),
            words(N_("units.notStarted"), units=names),
            words(N_("units.advice.notStarted")),
        )
    detail = N_("units.started") if started else N_("units.atBoot")
    return Check("units", Status.PASS, words(N_("title.units")), words(detail, units=names))


def units_hidden_python(python: str) -> Check:
    return Check(
        "units",
        Status.FAIL,
        words(N_("title.units")),
        words(N_("units.hiddenPython"), python=python),
        words(N_("units.advice.hiddenPython")),
    )


def units_failed(error: str) -> Check:
    return Check(
        "units",
        Status.FAIL,
        words(N_("title.units")),
        words(N_("units.failed"), error=error),
        words(N_("units.advice")),
    )


def service_user(name: str, made: bool | None) -> Check:
    """The account the services run as: made now (True), there already (False), or not made here (None: not
    the running system, or not root)."""
    title = words(N_("title.user"))
    if made is None:
        return Check("user", Status.ABSENT, title, words(N_("user.notHere"), user=name))
    return Check("user", Status.PASS, title, words(N_("user.made") if made else N_("user.there"), user=name))


def service_user_failed(name: str, error: str) -> Check:
    return Check(
        "user",
        Status.FAIL,
        words(N_("title.user")),
        words(N_("user.failed"), user=name, error=error),
        words(N_("user.advice")),
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
