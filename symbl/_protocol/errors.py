"""The one error the protocol core raises."""

from __future__ import annotations


class ProtocolError(ValueError):
    """A request or message that breaks the protocol.

    Args:
        message: what is wrong and what is expected, for a person.
        field: the path of the field at fault, such as ``actions[0].parameters.emails`` or
            ``endpoint.phoneNumber`` ("" for the message as a whole).

    The SDK raises it to its users as :class:`symbl.InvalidArgumentError`; the emulator answers
    it with a 400 and the documented error body.
    """

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field
