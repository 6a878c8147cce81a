#!/usr/bin/env python
"""The simulator's manage.py: `python -m contrOCC_sync.simulator.manage <command>` from the repository root.

It always runs the simulator's own settings, whatever DJANGO_SETTINGS_MODULE says: this process must
never load the portal's.
"""

import os
import sys


def main() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "contrOCC_sync.simulator.settings"
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
