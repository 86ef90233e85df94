"""The command line's parser: every option of the settings dataclasses is a flag with its description, and a
command that an error message names parses back to the same settings and options."""

import shlex

from pruning_impact.cli.flags import options_from_args, settings_from_args
from pruning_impact.cli.parser import build_parser
from pruning_impact.foundations.described import field_help, flag
from pruning_impact.foundations.options import AnalysisOptions, RobustnessOptions
from pruning_impact.foundations.profiles import command_line, resolve_settings


def test_every_option_has_a_flag_and_a_description():
    parser = build_parser()
    help_text = {name: action.format_help() for name, action in parser._subparsers._group_actions[0].choices.items()}
    for cls, command in ((AnalysisOptions, "analyze"), (RobustnessOptions, "robustness")):
        for name, text in field_help(cls).items():
            assert len(text) > 10
            assert flag(cls, name) in help_text[command] and text.split()[0] in help_text[command], name
    assert "--analysis-seed" in help_text["analyze"] and "--robustness-seed" in help_text["robustness"]
    assert "(default: 1000)" in help_text["book"].replace("\n", " ").replace("  ", " ")


def test_commands_named_in_errors_rebuild_exactly_the_same_options():
    settings = resolve_settings("smoke", sparsities=(0, 1 / 3, 0.9))
    options = RobustnessOptions(epsilons=(8 / 255,), corruptions=("fog", "contrast"))
    command = command_line("robustness", settings, "/tmp/my results", options)
    assert "'/tmp/my results'" in command
    args = build_parser().parse_args(shlex.split(command)[1:])
    assert options_from_args(args, RobustnessOptions) == options
    assert settings_from_args(args).population.sparsities == settings.population.sparsities


def test_calibrate_keeps_its_seed_apart_from_the_populations():
    args = build_parser().parse_args(["calibrate", "--profile", "smoke", "--seed", "7", "--population-seed", "3"])
    assert args.simulation_seed == 7 and args.population_seed == 3
    from pruning_impact.cli.commands import settings_with_population_seed

    assert settings_with_population_seed(args).population.seed == 3
    default = build_parser().parse_args(["calibrate", "--profile", "smoke"])
    assert settings_with_population_seed(default).population.seed == resolve_settings("smoke").population.seed
