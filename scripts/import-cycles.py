#!/usr/bin/env python3
"""Import cycles in the engine (src/): between files, and between top-level modules.

Every `crate::`, `super::` and `self::` path (in `use` items, braces expanded, and inline
in code), and every path that starts with a child module the file declares, is resolved
to the file of the deepest module it names, following `pub use` re-exports to the file
that defines the item (a facade re-exporting a child is itself an edge to that child).
Strongly connected components of that graph with more than one member are cycles: two
files (or modules) that need each other, directly or round a longer loop. Test code
(after `#[cfg(test)]`) does not count. Exits 1 when there is any, so lint can run it.

    scripts/import-cycles.py            # files and top-level modules
    scripts/import-cycles.py --graph    # also print every edge
"""

import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")


def module_of(path):
    rel = os.path.relpath(path, ROOT)[:-3]
    parts = rel.split(os.sep)
    if parts[-1] == "mod":
        parts = parts[:-1]
    if parts == ["lib"]:
        parts = []
    return parts


def read_sources():
    files = {}
    for dirpath, _, names in os.walk(ROOT):
        if os.path.relpath(dirpath, ROOT).split(os.sep)[0] == "bin":
            continue  # separate crates: they use `baton::`, not `crate::`
        for name in names:
            if name.endswith(".rs"):
                path = os.path.join(dirpath, name)
                with open(path, encoding="utf-8", errors="replace") as f:
                    text = f.read()
                text = re.split(r"#\[cfg\((?:test|all\(test\b[^\]]*)\)\]", text)[0]
                text = re.sub(r"//[^\n]*", "", text)
                files[path] = text
    return files


def expand(tree):
    """`a::{b, c::{d, e}}` → ["a::b", "a::c::d", "a::c::e"]."""
    tree = tree.strip()
    depth, start = 0, None
    for i, ch in enumerate(tree):
        if ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                prefix = tree[:start]
                inner = tree[start + 1 : i]
                out = []
                for part in split_top(inner):
                    for tail in expand(part):
                        out.append(prefix + tail)
                return out
    return [tree]


def split_top(text):
    parts, depth, current = [], 0, ""
    for ch in text:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    if current.strip():
        parts.append(current)
    return parts


def paths_in(text):
    found = []
    for m in re.finditer(r"\buse\s+([^;]+);", text):
        for p in expand(m.group(1)):
            found.append(re.sub(r"\s+as\s+\w+$", "", re.sub(r"\s+", "", p)))
    for m in re.finditer(r"\b((?:crate|super|self)(?:::\w+)+)", text):
        found.append(m.group(1))
    # A child module declared here (`mod hub;`) is named without `self::` too.
    children = children_of(text)
    if children:
        pattern = r"\b((?:%s)(?:::\w+)+)" % "|".join(sorted(children))
        for m in re.finditer(r"\buse\s+([^;]+);", text):
            for p in expand(m.group(1)):
                p = re.sub(r"\s+as\s+\w+$", "", re.sub(r"\s+", "", p))
                if p.split("::")[0] in children:
                    found.append("self::" + p)
        for m in re.finditer(pattern, text):
            start = m.start(1)
            if start >= 2 and text[start - 2 : start] == "::":
                continue  # a deeper path (`crate::x::hub::…`), already counted
            found.append("self::" + m.group(1))
    return [p for p in found if p.split("::")[0] in ("crate", "super", "self")]


def children_of(text):
    return set(re.findall(r"^\s*(?:pub(?:\([\w:]+\))?\s+)?mod\s+(\w+)\s*;", text, re.M))


def absolute(me, path):
    """The path's parts from the crate root (`super::x` in `a::b` is `a::x`)."""
    head, *rest = path.split("::")
    if head == "crate":
        base = []
    elif head == "self":
        base = list(me)
    elif head == "super":
        base = list(me)[:-1]
        while rest and rest[0] == "super":
            base, rest = base[:-1], rest[1:]
    else:
        base, rest = list(me), [head] + rest
    return base + [r for r in rest if r not in ("*", "self")]


def reexports(files):
    """`pub use hub::server_name;` in a module: `that_module::server_name` is hub's."""
    names = {}
    for path, text in files.items():
        me = tuple(module_of(path))
        children = children_of(text)
        for m in re.finditer(r"\bpub(?:\([\w:]+\))?\s+use\s+([^;]+);", text):
            for p in expand(m.group(1)):
                p = re.sub(r"\s+as\s+\w+$", "", re.sub(r"\s+", "", p))
                first = p.split("::")[0]
                if first not in ("crate", "super", "self"):
                    if first not in children:
                        continue  # another crate's item
                    p = "self::" + p
                if p.endswith("::*"):
                    continue
                names.setdefault(me, {})[p.split("::")[-1]] = absolute(list(me), p)
    return names


REEXPORTS = {}


def resolve(me, path, modules):
    full = absolute(me, path)
    for _ in range(16):  # re-exports of re-exports, never round for ever
        for i in range(len(full), -1, -1):
            if tuple(full[:i]) in modules:
                break
        module = tuple(full[:i])
        target = REEXPORTS.get(module, {}).get(full[i]) if i < len(full) else None
        if target is None or target == full[: i + 1]:
            return modules.get(module)
        full = target + full[i + 1 :]
    return modules.get(module)


def sccs(nodes, edges):
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10_000)
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out


def main():
    files = read_sources()
    REEXPORTS.update(reexports(files))
    modules = {tuple(module_of(p)): p for p in files}
    edges, top_edges = {}, {}
    for path, text in files.items():
        me = module_of(path)
        for p in paths_in(text):
            target = resolve(me, p, modules)
            if target and target != path:
                edges.setdefault(path, set()).add(target)
                a, b = (me or ["lib"])[0], (module_of(target) or ["lib"])[0]
                if a != b and "lib" not in (a, b):
                    top_edges.setdefault(a, set()).add(b)
    rel = lambda p: os.path.relpath(p, os.path.join(ROOT, ".."))
    if "--graph" in sys.argv:
        for a in sorted(edges):
            for b in sorted(edges[a]):
                print(f"{rel(a)} -> {rel(b)}")
    file_cycles = sccs(files, edges)
    top_nodes = {m for e in top_edges.items() for m in (e[0], *e[1])}
    module_cycles = sccs(top_nodes, top_edges)
    for comp in file_cycles:
        print("files importing each other:", ", ".join(rel(p) for p in comp))
    for comp in module_cycles:
        print("modules importing each other:", ", ".join(comp))
    if file_cycles or module_cycles:
        return 1
    print(f"no import cycles among {len(files)} files and {len(top_nodes)} top-level modules")
    return 0


if __name__ == "__main__":
    sys.exit(main())
