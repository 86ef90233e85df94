"""The command line, ``pruning-impact`` (also ``python -m pruning_impact``): ``flags`` turns the settings
and options dataclasses into flags, ``parser`` lays out the commands, ``commands`` runs them and prints.
Library code logs (its ``pruning_impact`` loggers); here those messages go to standard output."""

from __future__ import annotations

import logging
import sys

from pruning_impact.foundations.errors import PruningImpactError

INTERRUPTED = "interrupted: finished work is kept; run the same command again to continue"


class _StandardOutput(logging.Handler):
    """A handler writing to whatever ``sys.stdout`` is when a message comes (tests replace it), through tqdm so
    that a message during a progress bar is printed above it instead of breaking it."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            from tqdm import tqdm

            tqdm.write(self.format(record), file=sys.stdout)
            sys.stdout.flush()  # as a StreamHandler does: in order with the bars, and kept if the process dies
        except Exception:  # logging's rule: a handler never raises
            self.handleError(record)


def show_library_messages() -> None:
    """The package's progress messages (log records at INFO and above) on standard output, as plain lines."""
    logger = logging.getLogger("pruning_impact")
    if not any(isinstance(handler, _StandardOutput) for handler in logger.handlers):
        handler = _StandardOutput()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def main(argv: list[str] | None = None) -> int:
    """Run one command: exit 0 when done, 2 with one line for a user-facing error, 130 on Ctrl-C (finished
    work is kept). The commands' modules (torch among them) are imported inside, so a Ctrl-C while they load
    is answered the same way."""
    try:
        from pruning_impact.cli.parser import build_parser

        args = build_parser().parse_args(argv)
        show_library_messages()
        return args.func(args)
    except PruningImpactError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(INTERRUPTED, file=sys.stderr)
        return 130
