"""``bidserver suppliers ...``: the platform reviewer's common tasks on the supplier registry, from
a terminal, over the HTTP API (``http/suppliers.py``): find suppliers (the reviewers' queue among
them), read a record and its history, qualify or reject a category, suspend, blacklist, lift,
answer an appeal.

Everything is decided by the server, as for the console: these commands only send and print. A
refusal is the server's reason and detail in one line and exit 1, as ``cli_client``'s commands
(whose connection options and HTTP call they share). Periods given in days count from the
server's clock (read from the record first), not the terminal's, which may be wrong.
"""

from __future__ import annotations

import json
import unicodedata
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

import click

from .cli_client import _call, _connection, _when

_DAY_MS = 24 * 3600 * 1000
_STATUSES = ("pending", "qualified", "rejected", "suspended", "blacklisted")


@click.group()
def suppliers() -> None:
    """The supplier registry, for the platform's reviewers (a token with role `platform`)."""


def _path(supplier_id: str, *rest: str) -> str:
    return "/".join(["/api/suppliers", *(quote(part, safe="") for part in (supplier_id, *rest))])


def _print_json(answer: Any) -> None:
    click.echo(json.dumps(answer, ensure_ascii=False, indent=2))


def _width(text: str) -> int:
    """Columns on a terminal: a Chinese legal name's characters take two each."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(_width(row[i]) for row in (header, *rows)) for i in range(len(header))]
    for row in (header, *rows):
        cells = [cell + " " * (width - _width(cell)) for cell, width in zip(row, widths)]
        click.echo("  ".join(cells).rstrip())


def _marks(hundredths: int | None) -> str:
    return "-" if hundredths is None else f"{hundredths // 100}.{hundredths % 100:02d}"


def _rating(summary: dict[str, Any]) -> str:
    if not summary.get("count"):
        return "-"
    return f"{_marks(summary.get('overall'))} ({summary['count']})"


def _standing(standing: dict[str, Any]) -> str:
    """``qualified, eligible`` or ``suspended, not eligible: certificate_expired``."""
    if standing["eligible"]:
        eligible = "eligible"
    else:
        eligible = f"not eligible: {standing.get('reason')}"
        if standing.get("detail"):
            eligible += f" ({standing['detail']})"
    until = f" until {_when(standing['until'])}" if standing.get("until") is not None else ""
    return f"{standing['status']}, {eligible}{until}"


# ------------------------------------------------------------------ reading


@suppliers.command("list")
@_connection
@click.option("--q", "q", default="", help="The start of the legal name (case-insensitive).")
@click.option("--code", default="", help="The start of the identifier (credit code, VAT number).")
@click.option("--category", default="", help="A CPV code: the suppliers who applied for it, with their standing in it.")
@click.option("--status", type=click.Choice(_STATUSES), default=None, help="The supplier's status (in --category when given; there, qualified by default).")
@click.option("--review-queue", is_flag=True, help="Only suppliers with a category awaiting a decision.")
@click.option("--limit", type=click.IntRange(1, 200), default=50, show_default=True)
@click.option("--cursor", default=None, help="The next page: the cursor the previous page printed.")
@click.option("--json", "as_json", is_flag=True, help="Print the server's page as JSON.")
def list_(server: str, token: str, q: str, code: str, category: str, status: str | None,
          review_queue: bool, limit: int, cursor: str | None, as_json: bool) -> None:
    """Search the registry, ordered by legal name, a page at a time."""
    query = {"q": q, "code": code, "category": category, "status": status or "",
             "review": "pending" if review_queue else "", "limit": str(limit),
             "cursor": cursor or ""}
    answer = _call(server, token, "GET",
                   "/api/suppliers?" + urlencode({k: v for k, v in query.items() if v}))
    if as_json:
        _print_json(answer)
        return
    header = ("ID", "LEGAL NAME", "IDENTIFIER", "STATUS", "RATING")
    if category:
        header += (category,)
    rows = []
    for item in answer["items"]:
        row = (item["supplier_id"], item["legal_name"], f"{item['country']} {item['identifier']}",
               item["status"], _rating(item["rating"]))
        rows.append(row + ((_standing(item["standing"]),) if category else ()))
    _table(header, rows)
    if answer.get("next_cursor"):
        click.echo(f"more: --cursor {answer['next_cursor']}")


@suppliers.command()
@_connection
@click.argument("supplier_id")
@click.option("--json", "as_json", is_flag=True, help="Print the server's answer as JSON.")
def show(server: str, token: str, supplier_id: str, as_json: bool) -> None:
    """A supplier's record: its status, each category's standing, documents, restrictions and
    appeals, as the server's clock has them now."""
    answer = _call(server, token, "GET", _path(supplier_id))
    if as_json:
        _print_json(answer)
        return
    record, registration = answer["supplier"], answer["supplier"]["registration"]
    click.echo(f"{record['supplier_id']}: {registration['legal_name']} ({registration['country']} "
               f"{registration['identifier']}), {answer['status']}, rating {_rating(answer['rating'])}, "
               f"registered {_when(record['registered_at'])}, version {record['version']}")
    for contact in registration["contacts"]:
        click.echo(f"  contact: {contact['name']} <{contact['email']}> {contact.get('phone', '')}".rstrip())
    click.echo("categories:")
    decisions = {d["category"]: d for d in record["categories"]}
    for standing in answer["standings"]:
        decision = decisions[standing["category"]]
        click.echo(f"  {standing['category']} {standing['name']}: {_standing(standing)}")
        said = f": {decision['reason']}" if decision.get("reason") else ""
        click.echo(f"    {decision['status']} by {decision['by']} at {_when(decision['at'])}{said}")
        for sha256 in decision.get("certificates", ()):
            click.echo(f"    rests on {sha256}")
    _documents(record["documents"], {d["sha256"] for d in answer["expiring"]})
    _restrictions(record["restrictions"])
    _appeals(record.get("appeals", ()))


def _documents(documents: list[dict[str, Any]], expiring: set[str]) -> None:
    click.echo("documents:" if documents else "documents: none")
    for d in documents:
        expiry = f"expires {_when(d['expires_at'])}" if d.get("expires_at") is not None else "no expiry"
        soon = " (EXPIRES WITHIN 30 DAYS)" if d["sha256"] in expiring else ""
        issued = f", {d['issuer']}" if d.get("issuer") else ""
        number = f" no. {d['number']}" if d.get("number") else ""
        click.echo(f"  {d['sha256']} {d['kind']} {d['title']}{issued}{number}, "
                   f"valid from {_when(d['valid_from'])}, {expiry}{soon}")


def _restrictions(restrictions: list[dict[str, Any]]) -> None:
    click.echo("restrictions:" if restrictions else "restrictions: none")
    for r in restrictions:
        end = f"until {_when(r['end_at'])}" if r.get("end_at") is not None else "indefinitely"
        click.echo(f"  {r['restriction_id']} {r['kind']} from {_when(r['start_at'])} {end}, "
                   f"by {r['by']}: {r['reason']}")
        if r.get("lifted_at") is not None:
            click.echo(f"    lifted at {_when(r['lifted_at'])} by {r['lifted_by']}: {r['lift_reason']}")


def _appeals(appeals: list[dict[str, Any]]) -> None:
    click.echo("appeals:" if appeals else "appeals: none")
    for a in appeals:
        click.echo(f"  {a['appeal_id']} about {a['about']}, lodged {_when(a['lodged_at'])} by "
                   f"{a['by']}: {a['text']}")
        if a.get("upheld") is None:
            click.echo("    not answered yet")
        else:
            verdict = "upheld" if a["upheld"] else "not upheld"
            click.echo(f"    {verdict} at {_when(a['answered_at'])} by {a['answered_by']}: {a['answer']}")


@suppliers.command()
@_connection
@click.argument("supplier_id")
@click.option("--json", "as_json", is_flag=True, help="Print the server's answer as JSON.")
def history(server: str, token: str, supplier_id: str, as_json: bool) -> None:
    """Every change of a record, in order: version, when, who, what and its reasons."""
    answer = _call(server, token, "GET", _path(supplier_id, "history"))
    if as_json:
        _print_json(answer)
        return
    for entry in answer["entries"]:
        event = dict(entry["event"])
        at, by, kind = event.pop("at"), event.pop("by"), event.pop("type")
        fields = " ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in event.items())
        click.echo(f"{entry['version']:>4} {_when(at)} {by} {kind} {fields}".rstrip())


# ------------------------------------------------------------------ deciding


def _after(answer: dict[str, Any], category: str) -> str:
    standing = next(s for s in answer["standings"] if s["category"] == category)
    return f"{category} {standing['name']}: {_standing(standing)}"


@suppliers.command()
@_connection
@click.argument("supplier_id")
@click.argument("category")
@click.option("--certificate", "certificates", multiple=True, metavar="SHA256", help="A certificate of the record the qualification rests on (it lapses when one expires); repeatable.")
@click.option("--reason", default="", help="Why, for the record.")
def qualify(server: str, token: str, supplier_id: str, category: str,
            certificates: tuple[str, ...], reason: str) -> None:
    """Qualify a supplier in a category it applied for."""
    answer = _call(server, token, "POST", _path(supplier_id, "categories", category, "qualification"),
                   {"certificates": list(certificates), "reason": reason})
    click.echo(f"qualified {supplier_id}: {_after(answer, category)}")


@suppliers.command()
@_connection
@click.argument("supplier_id")
@click.argument("category")
@click.option("--reason", required=True, help="Why (the supplier is told, and may appeal).")
def reject(server: str, token: str, supplier_id: str, category: str, reason: str) -> None:
    """Reject a supplier in a category."""
    answer = _call(server, token, "POST", _path(supplier_id, "categories", category, "rejection"),
                   {"reason": reason})
    click.echo(f"rejected {supplier_id}: {_after(answer, category)}")


def _until(value: str) -> int:
    """``2026-09-30`` (its start, UTC) or ``2026-09-30T12:00:00+08:00`` (no offset: UTC) -> ms."""
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("an ISO date or date and time, e.g. 2026-09-30 or "
                                 "2026-09-30T12:00:00+08:00", param_hint="--until") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


def _restrict(server: str, token: str, supplier_id: str, kind: str, reason: str,
              days: int | None, until: str | None) -> None:
    if days is not None and until is not None:
        raise click.UsageError("give --days or --until, not both")
    body: dict[str, Any] = {"kind": kind, "reason": reason}
    if until is not None:
        body["end_at"] = _until(until)
    elif days is not None:
        body["end_at"] = _call(server, token, "GET", _path(supplier_id))["now"] + days * _DAY_MS
    answer = _call(server, token, "POST", _path(supplier_id, "restrictions"), body)
    made = answer["supplier"]["restrictions"][-1]
    end = f"until {_when(made['end_at'])}" if made.get("end_at") is not None else "indefinitely"
    click.echo(f"{kind} {supplier_id}: restriction {made['restriction_id']} from "
               f"{_when(made['start_at'])} {end}; status now {answer['status']}")


def _period(fn):
    fn = click.option("--until", default=None, metavar="ISO-DATE", help="Until this date (its start, UTC) or date and time.")(fn)
    fn = click.option("--days", type=click.IntRange(1), default=None, help="For this many days from now.")(fn)
    return click.option("--reason", required=True, help="Why (the supplier is told, and may appeal).")(fn)


@suppliers.command()
@_connection
@click.argument("supplier_id")
@_period
def suspend(server: str, token: str, supplier_id: str, reason: str, days: int | None,
            until: str | None) -> None:
    """Suspend a supplier in every category, for a period or (neither --days nor --until) until
    lifted. The live events it is invited to are told at once."""
    _restrict(server, token, supplier_id, "suspended", reason, days, until)


@suppliers.command()
@_connection
@click.argument("supplier_id")
@_period
def blacklist(server: str, token: str, supplier_id: str, reason: str, days: int | None,
              until: str | None) -> None:
    """Blacklist (debar) a supplier, for a period or (neither --days nor --until) indefinitely."""
    _restrict(server, token, supplier_id, "blacklisted", reason, days, until)


@suppliers.command()
@_connection
@click.argument("supplier_id")
@click.argument("restriction_id")
@click.option("--reason", required=True, help="Why, for the record.")
def lift(server: str, token: str, supplier_id: str, restriction_id: str, reason: str) -> None:
    """Lift a suspension or a blacklisting (its id, e.g. r1, as `show` prints it)."""
    answer = _call(server, token, "POST", _path(supplier_id, "restrictions", restriction_id, "lifting"),
                   {"reason": reason})
    click.echo(f"lifted {restriction_id} of {supplier_id}; status now {answer['status']}")


@suppliers.command("answer-appeal")
@_connection
@click.argument("supplier_id")
@click.argument("appeal_id")
@click.option("--upheld/--not-upheld", default=None, help="The verdict (one is required). Upholding changes nothing by itself: then qualify or lift.")
@click.option("--answer", required=True, help="The answer the supplier reads.")
def answer_appeal(server: str, token: str, supplier_id: str, appeal_id: str, upheld: bool,
                  answer: str) -> None:
    """Answer a supplier's appeal against a rejection or a restriction."""
    if upheld is None:  # click does not require a flag pair
        raise click.UsageError("give --upheld or --not-upheld")
    _call(server, token, "POST", _path(supplier_id, "appeals", appeal_id, "answer"),
          {"upheld": upheld, "answer": answer})
    click.echo(f"answered appeal {appeal_id} of {supplier_id}: {'upheld' if upheld else 'not upheld'}")
