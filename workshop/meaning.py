"""How the kit reads what the learner typed: commands by their meaning, images by their names.

Pure logic, with no engine: `/bin/ls -la /`, `busybox ls -l` and `sh -c "ls -l"` all run `ls`
(what its options mean is the lab's to say, from `short_options`); `nginx`, `nginx:latest` and
`docker.io/library/nginx` all name nginx:latest.
"""

from __future__ import annotations

import shlex

SHELLS = {"sh", "ash", "bash", "dash", "zsh", "hush"}
_OPERATORS = {";", "&&", "||", "|", "&"}


# --- commands, by meaning --------------------------------------------------------------------


def program_name(word: str) -> str:
    """`/bin/ls` -> `ls`; `//bin/sh` (Git Bash's escape) -> `sh`."""
    return word.replace("\\", "/").rsplit("/", 1)[-1]


def simple_commands(argv: list[str], depth: int = 0) -> list[list[str]]:
    """The simple commands `argv` runs, each as [program, args...] with the program's path
    dropped: `busybox ls -l` is `ls -l`; `sh -c "cd / && ls -l"` is `cd /` and `ls -l`;
    `env X=1 ls` is `ls`. A plain command is itself."""
    if not argv or depth > 3:
        return []
    name = program_name(argv[0])
    args = list(argv[1:])
    if name == "busybox" and args:
        return simple_commands(args, depth + 1)
    if name in ("env", "exec", "nice", "nohup", "time", "timeout") and args:
        skip = 0  # the wrapper's own options (and env's VAR=value), then the command
        while skip < len(args) and (args[skip].startswith("-") or "=" in args[skip]):
            skip += 1
        if name == "timeout":
            skip += 1  # the duration
        rest = args[skip:]
        return simple_commands(rest, depth + 1) if rest else [[name, *args]]
    if name in SHELLS:
        script = _script(args)
        if script is not None:
            return [
                command
                for words in _split_script(script)
                for command in simple_commands(words, depth + 1)
            ] or [[name, *args]]
    return [[name, *args]]


def _script(args: list[str]) -> str | None:
    """The script of `sh -c SCRIPT` (options such as `-e`, `-x`, `-ec` allowed before it)."""
    for n, arg in enumerate(args):
        if not arg.startswith("-"):
            return None
        if "c" in arg[1:]:
            return args[n + 1] if n + 1 < len(args) else ""
    return None


def _split_script(script: str) -> list[list[str]]:
    try:
        lexer = shlex.shlex(script, posix=True, punctuation_chars=";&|")
        lexer.whitespace_split = True
        words = list(lexer)
    except ValueError:  # an unbalanced quote: the shell would have failed too
        return []
    commands, current = [], []
    for word in words:
        if word in _OPERATORS or set(word) <= set(";&|"):
            if current:
                commands.append(current)
            current = []
        elif not (not current and "=" in word and not word.startswith("=")):
            current.append(word)  # leading VAR=value assignments are not the program
    if current:
        commands.append(current)
    return commands


def short_options(args: list[str]) -> tuple[set[str], dict[str, str | None], list[str]]:
    """(single-letter options, long options with their values, operands) as a POSIX/GNU
    program reads them: `-la` is `-l -a`, `--format=long`, `--` ends the options."""
    letters: set[str] = set()
    longs: dict[str, str | None] = {}
    operands: list[str] = []
    ended = False
    for arg in args:
        if ended or arg == "-" or not arg.startswith("-"):
            operands.append(arg)
        elif arg == "--":
            ended = True
        elif arg.startswith("--"):
            key, eq, value = arg[2:].partition("=")
            longs[key] = value if eq else None
        else:
            letters.update(arg[1:])
    return letters, longs, operands


# --- names of images ---------------------------------------------------------------------------


def _normal(reference: str) -> str:
    name = reference.split("@", 1)[0]
    for prefix in ("docker.io/library/", "docker.io/", "library/"):
        name = name.removeprefix(prefix)
    last = name.rsplit("/", 1)[-1]
    return name if ":" in last else f"{name}:latest"


def repository_of(reference: str) -> str:
    """`alpine:3.20` -> `alpine`; `docker.io/library/alpine` -> `alpine`."""
    return _normal(reference).rsplit(":", 1)[0]


def _has_tag(reference: str) -> bool:
    return ":" in reference.split("@", 1)[0].rsplit("/", 1)[-1]


def names_tag(tag: str, image: str) -> bool:
    """`tag` is `image` (a tag), or any tag of `image` (a repository)."""
    return same_image(tag, image) if _has_tag(image) else same_repo(tag, image)


def same_image(named: str, wanted: str) -> bool:
    """`nginx`, `nginx:latest` and `docker.io/library/nginx` all name nginx:latest."""
    return bool(named) and _normal(named) == _normal(wanted)


def same_repo(named: str, wanted: str) -> bool:
    """`nginx:1.27`, `nginx@sha256:...` and `docker.io/library/nginx` are all nginx; a
    bare image ID names no repository. `wanted` with a tag compares whole tags."""
    if not named or named.startswith("sha256:"):
        return False
    if _has_tag(wanted):
        return same_image(named, wanted)
    return repository_of(named) == repository_of(wanted)
