"""A small OData $filter parser/evaluator covering the forms real clients send to directory APIs:
eq/ne/gt/ge/lt/le, and/or/not, in (...), startswith/endswith, isof('type'), any()/all() lambdas
(e.g. signInEventTypes/any(t: t eq 'servicePrincipal'), targetResources/any(t: t/id eq '...')), $count.
String comparisons are case-insensitive as in Entra; DateTimeOffset literals compare as instants."""

from __future__ import annotations

import re

from graph_emulator.common import GraphError, parse_iso

TOKEN = re.compile(r"""\s*(?:
    (?P<str>'(?:[^']|'')*')|
    (?P<dt>\d{4}-\d\d-\d\dT[\d:.]+(?:Z|[+-]\d\d:\d\d)?)|
    (?P<guid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})|
    (?P<num>-?\d+(?:\.\d+)?)|
    (?P<punct>[(),:])|
    (?P<name>[A-Za-z_$@][\w./$@#]*)
)""", re.X)
COMPARE = {"eq", "ne", "gt", "ge", "lt", "le"}
ADVANCED_OPS = {"ne", "not", "endswith"}  # need ConsistencyLevel: eventual + $count=true (https://learn.microsoft.com/graph/aad-advanced-queries)


class FilterError(GraphError):
    def __init__(self, message: str = "Invalid filter clause"):
        super().__init__(400, "BadRequest", message)


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = TOKEN.match(text, pos)
        if not m:
            raise FilterError(f"Invalid filter clause: syntax error at position {pos} in '{text}'.")
        pos = m.end()
        kind = m.lastgroup
        out.append((kind, m.group(kind)))
    return out


class Parser:
    """Recursive descent: or -> and -> not -> comparison/primary. Produces nested tuples."""

    def __init__(self, text: str):
        self.toks = _tokens(text)
        self.i = 0
        self.ops_used: set[str] = set()

    def peek(self, offset: int = 0):
        j = self.i + offset
        return self.toks[j] if j < len(self.toks) else (None, None)

    def take(self, value: str | None = None):
        tok = self.peek()
        if tok[0] is None or (value is not None and tok[1].lower() != value):
            raise FilterError(f"Invalid filter clause: expected '{value}'.")
        self.i += 1
        return tok

    def parse(self):
        node = self.parse_or()
        if self.i != len(self.toks):
            raise FilterError(f"Invalid filter clause: unexpected '{self.peek()[1]}'.")
        return node

    def parse_or(self):
        node = self.parse_and()
        while self.peek()[1] and self.peek()[1].lower() == "or":
            self.take()
            node = ("or", node, self.parse_and())
        return node

    def parse_and(self):
        node = self.parse_not()
        while self.peek()[1] and self.peek()[1].lower() == "and":
            self.take()
            node = ("and", node, self.parse_not())
        return node

    def parse_not(self):
        if self.peek()[1] and self.peek()[1].lower() == "not":
            self.take()
            self.ops_used.add("not")
            return ("not", self.parse_not())
        return self.parse_compare()

    def parse_compare(self):
        left = self.parse_primary()
        op = (self.peek()[1] or "").lower()
        if op in COMPARE:
            self.take()
            self.ops_used.add(op)
            return ("cmp", op, left, self.parse_primary())
        if op == "in":
            self.take()
            self.take("(")
            items = [self.parse_primary()]
            while self.peek()[1] == ",":
                self.take()
                items.append(self.parse_primary())
            self.take(")")
            return ("in", left, items)
        return left

    def parse_primary(self):
        kind, val = self.take()
        if val == "(":
            node = self.parse_or()
            self.take(")")
            return node
        if kind == "str":
            return ("lit", val[1:-1].replace("''", "'"))
        if kind == "dt":
            return ("lit", parse_iso(val))
        if kind == "guid":
            return ("lit", val)
        if kind == "num":
            return ("lit", float(val) if "." in val else int(val))
        low = val.lower()
        if low in ("true", "false", "null"):
            return ("lit", {"true": True, "false": False, "null": None}[low])
        if self.peek()[1] == "(" and low in ("startswith", "endswith", "isof", "contains"):
            return self.parse_func(low)
        if "/" in val and val.rsplit("/", 1)[1].lower() in ("any", "all") and self.peek()[1] == "(":
            return self.parse_lambda(val)
        return ("path", val.split("/"))

    def parse_func(self, name: str):
        self.ops_used.add(name)
        self.take("(")
        args = [self.parse_primary()]
        while self.peek()[1] == ",":
            self.take()
            args.append(self.parse_primary())
        self.take(")")
        return ("func", name, args)

    def parse_lambda(self, val: str):
        coll, fn = val.rsplit("/", 1)
        self.take("(")
        var = self.take()[1]
        self.take(":")
        body = self.parse_or()
        self.take(")")
        return ("lambda", fn.lower(), coll.split("/"), var, body)


def _get(obj, path: list[str], env: dict):
    cur = env[path[0]] if path[0] in env else (obj.get(path[0]) if isinstance(obj, dict) else None)
    for p in path[1:]:
        cur = cur.get(p) if isinstance(cur, dict) else None
    return cur


def _norm(v):
    if isinstance(v, str):
        if len(v) >= 19 and v[4] == "-" and v[10] == "T":
            try:
                return parse_iso(v)
            except ValueError:
                return v.lower()
        return v.lower()
    return v


def evaluate(node, obj, env: dict | None = None):
    env = env or {}
    tag = node[0]
    if tag == "lit":
        return node[1]
    if tag == "path":
        return _get(obj, node[1], env)
    if tag == "and":
        return bool(evaluate(node[1], obj, env)) and bool(evaluate(node[2], obj, env))
    if tag == "or":
        return bool(evaluate(node[1], obj, env)) or bool(evaluate(node[2], obj, env))
    if tag == "not":
        return not evaluate(node[1], obj, env)
    if tag == "cmp":
        return _compare(node[1], _norm(evaluate(node[2], obj, env)), _norm(evaluate(node[3], obj, env)))
    if tag == "in":
        left = _norm(evaluate(node[1], obj, env))
        return any(left == _norm(evaluate(i, obj, env)) for i in node[2])
    if tag == "func":
        return _func(node[1], [evaluate(a, obj, env) for a in node[2]], obj)
    if tag == "lambda":
        _, fn, coll, var, body = node
        items = _get(obj, coll, env) or []
        test = (evaluate(body, obj, {**env, var: it}) for it in items)
        return any(test) if fn == "any" else all(test)
    raise FilterError()


def _compare(op: str, a, b) -> bool:
    if op == "eq":
        return a == b
    if op == "ne":
        return a != b
    if a is None or b is None:
        return False
    try:
        return {"gt": a > b, "ge": a >= b, "lt": a < b, "le": a <= b}[op]
    except TypeError:
        return False


def _func(name: str, args: list, obj) -> bool:
    if name == "isof":
        t = str(args[-1]).removeprefix("microsoft.graph.")
        return obj.get("@odata.type", "").removeprefix("#microsoft.graph.") == t
    a, b = (str(x).lower() if x is not None else None for x in args[:2])
    if a is None or b is None:
        return False
    return {"startswith": a.startswith(b), "endswith": a.endswith(b), "contains": b in a}[name]


def compile_filter(text: str):
    """-> (predicate(obj) -> bool, set of operators used) ; raises FilterError (400)."""
    p = Parser(text)
    tree = p.parse()
    return (lambda obj: bool(evaluate(tree, obj))), p.ops_used, tree
