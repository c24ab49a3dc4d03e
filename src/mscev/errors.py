"""One exception type for everything a user can get wrong, so the CLI can print it without a traceback."""


class MscevError(Exception):
    """A problem with the user's input or environment, with a message that says how to fix it.

    ``exit_code`` follows the CLI convention: 1 for data that does not conform or is inconsistent,
    2 for usage or runtime errors.
    """

    def __init__(self, message: str, exit_code: int = 2):
        super().__init__(message)
        self.exit_code = exit_code
