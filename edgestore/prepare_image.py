"""``edgestore prepare-image``: make a Raspberry Pi OS card provision its Pi on first boot
(``provisioning.first_boot`` says how, docs/field-guide.md when to use it)."""

from pathlib import Path
from typing import Annotated

import typer

from provisioning.first_boot import FirstBoot, Method, prepare


def prepare_image(
    boot: Annotated[
        Path, typer.Option("--boot", help="The card's boot partition, mounted (e.g. /media/$USER/bootfs)")
    ],
    cloud: Annotated[str, typer.Option("--cloud", help="The cloud's address")],
    claim_code: Annotated[
        str, typer.Option("--claim-code", help="A claim code of the store (good for 24 hours at most)")
    ],
    wheel: Annotated[
        Path, typer.Option("--wheel", help="The edgestore wheel to install (pip wheel --no-deps -w dist .)")
    ],
    method: Annotated[
        Method, typer.Option("--method", help="cloud-init (Raspberry Pi OS trixie) or cmdline (bookworm)")
    ] = Method.CLOUD_INIT,
    lang: Annotated[
        str, typer.Option("--lang", help="The checklist's language on the Pi: zh-TW or en")
    ] = "zh-TW",
    provision_args: Annotated[
        list[str] | None, typer.Argument(help="More `edgestore provision` options, after --, e.g. -- --pir")
    ] = None,
) -> None:
    """Put edgestore and a claim code on a Pi's card: the Pi installs it and provisions itself at first boot."""
    plan = FirstBoot(
        cloud=cloud, claim_code=claim_code, wheel=wheel, lang=lang, extra_args=tuple(provision_args or ())
    )
    try:
        written = prepare(boot, plan, method)
    except (ValueError, OSError) as exc:
        typer.echo(f"edgestore prepare-image: {exc}", err=True)
        raise typer.Exit(2) from exc
    for path in written:
        typer.echo(f"wrote {path}")
    typer.echo(
        "Put the card in the Pi and power it on: it installs edgestore and provisions itself "
        "(log: /var/log/edgestore-first-boot.log; then edgestore doctor)."
    )
