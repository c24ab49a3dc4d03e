"""Messages for people: a SPARQL syntax error as pyoxigraph reports it ("error at 1:28: expected one of Prefix not
found, ['%'], ['-' | '0' ..= '9' | '\\u{00B7}' …]") rewritten as where it is, what was expected in words, the line
with a caret under the place, and for an undeclared prefix the declaration to add."""

import re

from mscev.namespaces import prefix_map

POSITION = re.compile(r"^error at (\d+):(\d+): (.*)$", re.DOTALL)
# strings, IRIs and comments, which may hold colons and brackets that are not SPARQL's own
NOT_CODE = re.compile(r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|<[^<>\s]*>|#[^\n]*')
PREFIX_USE = re.compile(r"(?<![\w?$:.-])([A-Za-z][\w-]*(?:\.[\w-]+)*)?:")
PROLOGUE = re.compile(r"^\s*(?:(?:PREFIX\s+[\w.-]*:|BASE)\s*(?:<[^<>\s]*>)?\s*)*", re.IGNORECASE)
QUERY_FORMS = ("SELECT", "CONSTRUCT", "ASK", "DESCRIBE")
UPDATE_WORDS = ("INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD", "WITH")
PREFIX_DECLARATION = re.compile(r"\bPREFIX\s+([A-Za-z][\w.-]*)?:", re.IGNORECASE)
MISSING_PREFIX = "Prefix not found"
SHOWN_CHOICES = 8


def syntax_error_message(query: str, error: str) -> str:
    """The message for a query that pyoxigraph could not parse (``error``: the text of its SyntaxError)."""
    match = POSITION.match(error.strip())
    if not match:
        return f"SPARQL syntax error: {error}"
    line_no, column, detail = int(match[1]), int(match[2]), match[3]
    lines = query.split("\n")
    line = lines[line_no - 1] if 0 < line_no <= len(lines) else ""
    choices = _choices(detail.removeprefix("expected one of ").removeprefix("expected "))
    at_end = line_no > len(lines) or (line_no == len(lines) and column > len(line.rstrip()))
    undeclared = _undeclared_prefixes(query, line)
    unclosed = _unclosed(query) if at_end else ""
    first_word = PROLOGUE.sub("", re.sub(r"#[^\n]*", "", query)).split(maxsplit=1)[:1]
    if first_word and first_word[0].upper() not in QUERY_FORMS:
        why = (f"a query starts with {_listed(list(QUERY_FORMS))} (after its PREFIX and BASE lines), not "
               f"{first_word[0][:40]}" + ("; this endpoint is read-only" if first_word[0].upper() in UPDATE_WORDS
                                          else ""))
    elif undeclared and (MISSING_PREFIX in choices or not unclosed):
        why = _missing_prefixes(undeclared)
    elif unclosed:
        why = f"the query ends too early ({unclosed}); expected {_listed(choices)}"
    else:
        why = f"expected {_listed(choices)}"
    place = f"line {line_no}, column {column}"
    excerpt = f"\n\n{line_no:>4} | {line}\n     | {' ' * max(0, column - 1)}^" if line.strip() else ""
    return f"SPARQL syntax error at {place}: {why}.{excerpt}"


def _choices(detail: str) -> list[str]:
    """What the parser expected, in words: keywords and punctuation as written, character classes named."""
    choices, depth, quoted, item = [], 0, None, ""
    for char in detail + ",":
        if quoted:
            quoted = None if char == quoted and not item.endswith("\\") else quoted
        elif char in "'\"":
            quoted = char
        elif char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        elif char == "," and depth == 0:
            choices.append(item.strip())
            item = ""
            continue
        item += char
    named = []
    for choice in filter(None, choices):
        if choice.startswith("["):
            choice = ("a number" if choice.startswith("['0'") else "a name" if "'A'" in choice or "'a'" in choice
                      else None)
        if choice and choice not in named:
            named.append(choice)
    return named


def _listed(choices: list[str]) -> str:
    if not choices:
        return "something else"
    shown = choices[:SHOWN_CHOICES] + (["…"] if len(choices) > SHOWN_CHOICES else [])
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} or {shown[-1]}"


def _unclosed(query: str) -> str:
    """Which bracket or string is left open, if one is (brackets counted outside strings, IRIs and comments)."""
    code = NOT_CODE.sub("", query)
    if re.search(r'(?<![\\])["\']', code):
        return "a string is not closed"
    for opening, closing in ("{}", "()", "[]"):
        if code.count(opening) > code.count(closing):
            return f"a {opening} is not closed by {closing}"
    return ""


def _undeclared_prefixes(query: str, line: str) -> list[str]:
    """The prefixes that ``line`` uses and the query does not declare."""
    declared = set(PREFIX_DECLARATION.findall(NOT_CODE.sub("", query)))
    code = NOT_CODE.sub("", line)
    if PREFIX_DECLARATION.search(code):
        return []
    used = dict.fromkeys(match[1] or "" for match in PREFIX_USE.finditer(code))
    return [prefix for prefix in used if prefix not in declared]


def _missing_prefixes(prefixes: list[str]) -> str:
    known = prefix_map()
    declarations = "; ".join(f"PREFIX {prefix}: <{known.get(prefix, '…')}>" for prefix in prefixes)
    names = ", ".join(f"{prefix}:" for prefix in prefixes)
    advice = (" (the SPARQL page's editor adds the project's prefixes as you type them)"
              if all(prefix in known for prefix in prefixes) else "")
    return f"{names} {'is' if len(prefixes) == 1 else 'are'} not declared; add {declarations} at the top{advice}"
