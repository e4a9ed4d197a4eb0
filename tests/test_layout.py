"""The package's shape, kept by reading its source: what a reader picking the code up relies on.

- no import cycle between lavlive's modules, counting every import statement, those inside functions too,
  and no import from a higher layer (README's code map);
- the command line stops at commands/: nothing below it imports argparse;
- a generator is loaded in one place outside lavlive/generator (pipeline/model.py);
- files are moved into place in one place (files.py);
- no class is longer than about a screenful or four (250 lines).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "lavlive"
MAX_CLASS_LINES = 250
LAYERS = (  # lowest first; a package's modules share its layer
    ("lavlive.errors", "lavlive.files", "lavlive.cache", "lavlive.resources", "lavlive.progress", "lavlive.interrupts",
     "lavlive.devices", "lavlive.images", "lavlive.effects", "lavlive.snapshot"),
    ("lavlive.generator",), ("lavlive.audio",), ("lavlive.modulation",), ("lavlive.presets",), ("lavlive.control",),
    ("lavlive.stage",),
    ("lavlive.pipeline", "lavlive.output", "lavlive.web"), ("lavlive.render", "lavlive.playback"),
    ("lavlive.commands",),
    ("lavlive.cli", "lavlive.__main__"),
)


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


SOURCES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
TREES = {name: ast.parse(path.read_text(encoding="utf-8"), str(path)) for name, path in SOURCES.items()}


def imported(name: str) -> set[str]:
    """The lavlive modules `name` imports anywhere in its source (a package's own __init__ for names it holds)."""
    package = name if SOURCES[name].name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(TREES[name]):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in SOURCES else base for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in SOURCES:
                target = target.rpartition(".")[0]
            if target.startswith("lavlive") and target != name:
                found.add(target)
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def calls(name: str) -> list[tuple[str, ast.Call]]:
    """(called name, node) for every call in module `name`: `f(...)` and `x.f(...)` both give 'f'."""
    out = []
    for node in ast.walk(TREES[name]):
        if isinstance(node, ast.Call):
            f = node.func
            called = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
            out.append((called, node))
    return out


def test_the_checks_see_the_whole_package():
    assert len(SOURCES) > 60 and "lavlive.pipeline.model" in SOURCES and "lavlive.files" in SOURCES
    assert "lavlive.control" in imported("lavlive.pipeline.model")  # relative imports resolve
    assert cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]


def test_no_import_cycle_between_modules():
    graph = {name: imported(name) for name in SOURCES}
    assert cycles(graph) == []


def layer(name: str) -> int:
    """The layer of module `name`: that of the longest LAYERS entry it is or lies in."""
    found = [(len(entry), i) for i, entries in enumerate(LAYERS) for entry in entries
             if name == entry or name.startswith(entry + ".")]
    assert found, f"{name} is in no layer: add it to LAYERS (and to README's code map)"
    return max(found)[1]


def test_no_module_imports_from_a_higher_layer():
    upward = {f"{name} -> {target}" for name in SOURCES if name != "lavlive" for target in imported(name)
              if target != "lavlive" and layer(target) > layer(name)}  # the root package: the version
    assert upward == set()


def test_nothing_below_the_commands_sees_the_command_line():
    """Commands turn their arguments into settings; below them no function takes `args`, and argparse is
    imported only to read rosinality checkpoints (their pickles hold an argparse.Namespace)."""
    below = [name for name in SOURCES if not name.startswith("lavlive.commands") and name != "lavlive.cli"]
    users = {name for name in below for node in ast.walk(TREES[name])
             if isinstance(node, (ast.Import, ast.ImportFrom))
             and "argparse" in ([a.name for a in node.names] if isinstance(node, ast.Import) else [node.module])}
    takers = {f"{name}.{node.name}" for name in below for node in ast.walk(TREES[name])
              if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
              and "args" in [a.arg for a in node.args.posonlyargs + node.args.args + node.args.kwonlyargs]}
    assert users == {"lavlive.generator.checkpoints"} and takers == set()


def test_a_generator_is_loaded_in_one_place_outside_the_generator_package():
    loaders = {name for name in SOURCES if not name.startswith("lavlive.generator")
               for called, _ in calls(name) if called in ("load_generator", "build_generator")}
    assert loaders == {"lavlive.pipeline.model"}


def test_files_are_moved_into_place_in_one_place():
    def moves(node: ast.Call, called: str) -> bool:
        f = node.func
        owner = f.value.id if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) else ""
        if (owner, called) in (("os", "replace"), ("os", "rename"), ("os", "renames"), ("shutil", "move")):
            return True
        # Path.replace(target) / Path.rename(target): one argument; str.replace takes two, dataclasses.replace keywords
        return called in ("replace", "rename") and owner not in ("os", "dataclasses") and len(node.args) == 1 \
            and not node.keywords

    movers = {name for name in SOURCES for called, node in calls(name) if moves(node, called)}
    assert movers == {"lavlive.files"}


def test_no_class_is_over_250_lines():
    long = {f"{name}.{node.name}": node.end_lineno - node.lineno + 1 for name in SOURCES
            for node in ast.walk(TREES[name]) if isinstance(node, ast.ClassDef)
            and node.end_lineno - node.lineno + 1 > MAX_CLASS_LINES}
    assert long == {}
