"""``python -m deskgate.cli``, the same as the ``deskgate`` script."""

from deskgate.cli import main

main()
