"""``CommandLine`` to argv, by the rules of Windows' CommandLineToArgvW.

HCS hands ``ProcessParameters.CommandLine`` to CreateProcess, whose C
runtime splits it this way, so a client that quotes for Windows gets the
same argv here. The rules (as documented for CommandLineToArgvW and
reproduced by Wine's implementation):

* argv[0] is special: if it starts with a quote it runs to the next quote,
  with no escapes; otherwise it runs to the first space or tab;
* after it, arguments are separated by spaces/tabs outside quotes;
* 2n backslashes followed by a quote produce n backslashes and the quote
  toggles quoting; 2n+1 backslashes followed by a quote produce n
  backslashes and a literal quote; backslashes not followed by a quote are
  literal;
* inside quotes, consecutive quotes are counted: every third quote of a
  run is a literal quote (four quotes in a row inside quotes yield one).
"""

from __future__ import annotations

_BLANKS = " \t"


def _program(command_line: str) -> tuple[str, int]:
    """argv[0] and the index just after it."""
    if command_line.startswith('"'):
        end = command_line.find('"', 1)
        if end < 0:
            return command_line[1:], len(command_line)
        return command_line[1:end], end + 1
    end = 0
    while end < len(command_line) and command_line[end] not in _BLANKS:
        end += 1
    return command_line[:end], end


def command_line_to_argv(command_line: str) -> list[str]:
    """Split ``command_line``; raises ``ValueError`` when it names no program."""
    program, i = _program(command_line)
    if not program:
        raise ValueError("the command line names no program")
    argv = [program]
    text = command_line
    n = len(text)
    while i < n and text[i] in _BLANKS:
        i += 1
    if i >= n:
        return argv
    current: list[str] = []
    quotes = 0  # quote state, as Wine's qcount: odd means inside quotes
    backslashes = 0
    while i < n:
        ch = text[i]
        if ch in _BLANKS and quotes == 0:
            argv.append("".join(current))
            current = []
            while i < n and text[i] in _BLANKS:
                i += 1
            if i >= n:
                return argv  # trailing blanks start no argument
            backslashes = 0
            continue
        if ch == "\\":
            current.append(ch)
            backslashes += 1
            i += 1
            continue
        if ch == '"':
            if backslashes % 2 == 0:
                # half the backslashes survive; the quote toggles quoting
                del current[len(current) - backslashes // 2 :]
                quotes += 1
            else:
                del current[len(current) - backslashes // 2 - 1 :]
                current.append('"')
            i += 1
            backslashes = 0
            while i < n and text[i] == '"':
                quotes += 1
                if quotes == 3:
                    current.append('"')
                    quotes = 0
                i += 1
            if quotes == 2:
                quotes = 0
            continue
        current.append(ch)
        backslashes = 0
        i += 1
    argv.append("".join(current))
    return argv
