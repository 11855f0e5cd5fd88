"""How the journeys and the screenshot tool start Debian's Chromium (never a downloaded browser)."""

DEMO_PASSWORD = "Sinergi#Demo2026"  # noqa: S105 - the published demo password
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
