"""``manage.py closings_summary --check`` / ``--rebuild``: prove the daily
closing summary equals a recount of the closings, or recount it from scratch."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sales.ingest import rebuild_summary, summary_differences


class Command(BaseCommand):
    help = (
        "Compare the closing summary (day x branch x scheme x channel x product) with a recount of the "
        "closings (--check, exits non-zero on any difference), or rebuild it from the closings (--rebuild)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        what = parser.add_mutually_exclusive_group(required=True)
        what.add_argument("--check", action="store_true", help="print the differences; exit 1 when there are any")
        what.add_argument("--rebuild", action="store_true", help="recount the summary from the closings")
        parser.add_argument("--limit", type=int, default=20, help="show at most this many differences (default 20)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["rebuild"]:
            rows = rebuild_summary()
            self.stdout.write(self.style.SUCCESS(f"Closing summary rebuilt: {rows} row(s) from the closings."))
            return
        differences = summary_differences(limit=max(1, options["limit"]))
        for d in differences:
            day, branch_id, scheme, channel, product = d["key"]
            self.stdout.write(
                f"{day} branch={branch_id} {scheme}/{channel}/{product}: "
                f"summary={_figures(d['summary'])} recount={_figures(d['recount'])}"
            )
        if differences:
            more = " (or more)" if len(differences) >= options["limit"] else ""
            raise CommandError(
                f"Closing summary DIFFERS from a recount in {len(differences)}{more} key(s); "
                "run `manage.py closings_summary --rebuild`."
            )
        self.stdout.write(self.style.SUCCESS("Closing summary OK: equal to a recount of the closings."))


def _figures(value: tuple[Any, ...] | None) -> str:
    if value is None:
        return "absent"
    count, amount, grams, new, area_id, region_id = value
    return f"(count={count}, amount={amount}, grams={grams}, new={new}, area={area_id}, region={region_id})"
