"""The `ardesk` console script: Django's management commands under one name.

`ardesk import invoices FILE`, `ardesk demo`, `ardesk migrate`, `ardesk runserver`...
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ardesk.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    args = list(sys.argv if argv is None else ["ardesk", *argv])
    # `import` is a Python keyword; the command module is named import_ but users type `ardesk import`.
    if len(args) > 1 and args[1] == "import":
        args[1] = "import_"
    try:
        execute_from_command_line(args)
    except ImproperlyConfigured as exc:  # a configuration problem is a message, not a traceback
        sys.stderr.write(f"ardesk: {exc}\n")
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
