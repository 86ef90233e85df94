"""The errors a user can act on; the CLI prints their message alone, without a traceback."""


class PruningImpactError(Exception):
    """Base of every error that carries a message meant for the user."""

    def _render_traceback_(self) -> list[str]:
        """What IPython and Jupyter show for this error (papermill too): the message alone, since it says what
        is wrong and what to do, instead of a traceback into the package."""
        return [f"{type(self).__name__}: {self}"]


class SettingsError(PruningImpactError, ValueError):
    """A setting, profile or argument that is not valid; the message names it."""


class InvalidSettingError(SettingsError):
    """One field's value is not allowed: ``setting`` names the field, ``reason`` says what is wrong."""

    def __init__(self, setting: str, reason: str) -> None:
        super().__init__(f"invalid setting {setting}: {reason}")
        self.setting, self.reason = setting, reason


class ParameterError(SettingsError):
    """A notebook parameter that is not valid or names results that do not exist; the message names it."""


class DataError(PruningImpactError):
    """A dataset that cannot be found or read; the message says how to get it."""


class MissingResultsError(PruningImpactError):
    """Results asked for that are not trained yet; the message names the command that trains them."""


class TrainingDivergedError(PruningImpactError):
    """The loss became NaN or infinite."""


class StoreError(PruningImpactError):
    """A results or output folder that cannot be written; the message names the folder and what to do."""


class DamagedResultsError(PruningImpactError):
    """Stored results that fail a check; the message names the folder to delete and retrain."""


class ExecutorError(PruningImpactError):
    """An executor that cannot run the jobs: Ray missing, a cluster out of reach or too small for a task."""


class NodeError(ExecutorError):
    """A cluster node that cannot run any task: other code than the driver's, or no shared results folder."""


class JobsFailedError(PruningImpactError):
    """Jobs that failed on every attempt while the others finished; the message lists each with its error."""


class AnnotationError(PruningImpactError):
    """An annotation sheet that cannot be made, or answers that do not fit their key; the message says why."""


class BookError(PruningImpactError):
    """A notebook failed to execute or the book failed to build."""
