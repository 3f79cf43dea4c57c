"""Rewrite one Python module from Channels 1.x to channels_test, keeping its layout.

Needs LibCST (the ``migrate`` extra); the command line checks for it first.

Why one module of some 410 lines: it is one LibCST transformer, whose
visitors share the module's scope analysis and the findings they report.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import libcst as cst
from libcst.helpers import get_full_name_for_node
from libcst.metadata import Assignment, MetadataWrapper, PositionProvider, Scope, ScopeProvider

from .findings import Finding
from .tables import (
    ASGI_MODULE_NOTE,
    BACKENDS,
    DJANGO_MODULES,
    DJANGO_NAMES,
    DJANGO_SETTINGS,
    IGNORED_OPTIONS,
    NEW_PACKAGE,
    OLD_PACKAGE,
    UNMAPPED_LAYER_PACKAGES,
    is_old_object_path,
    is_old_path,
    missing_api,
    new_module,
)

INSTALLED_APPS = "INSTALLED_APPS"


class Unparseable(Exception):
    """The module is not Python 3 that LibCST can read; ``line`` is where it failed."""

    def __init__(self, line: int, reason: str):
        super().__init__(reason)
        self.line = line
        self.reason = reason


def rewrite_source(source: bytes, path: str) -> tuple[bytes, list[Finding]]:
    """Return ``source`` rewritten for channels_test, and what is left for the user.

    Raise :class:`Unparseable` if ``source`` is not a Python 3 module.
    """
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as error:
        raise _unparseable(error) from None
    except Exception as error:  # LibCST's tokenizer raises others for broken files
        raise Unparseable(1, f"{type(error).__name__}: {error}") from None
    wrapper = MetadataWrapper(module)
    migration = ModuleMigration(path)
    new_module_node = wrapper.visit(migration)
    return new_module_node.bytes, migration.findings


def _unparseable(error: cst.ParserSyntaxError) -> Unparseable:
    """Say where and why LibCST could not read a module, in one line."""
    line = error.raw_line
    message = error.message.splitlines()[0]
    # The native parser names the position in its message more exactly than raw_line.
    located = re.match(r"(?:parser error: )?error at (\d+):\d+: (.*)", message)
    if located:
        line, message = int(located[1]), located[2]
    if message.startswith("expected"):
        message = "not Python 3 (Python 2 code, or a template?)"
    return Unparseable(line, message)


def _string_value(node: cst.CSTNode) -> str | None:
    """Return the text of a plain (not bytes, not f-) string literal, else None."""
    if not isinstance(node, cst.SimpleString) or "b" in node.prefix.lower():
        return None
    value = node.evaluated_value
    return value if isinstance(value, str) else None


def _with_text(node: cst.SimpleString, text: str) -> cst.SimpleString:
    """Return ``node`` holding ``text``, with its prefix and quotes kept."""
    return node.with_changes(value=f"{node.prefix}{node.quote}{text}{node.quote}")


def _dotted(dotted: str) -> cst.Name | cst.Attribute:
    """Return the ``Name`` or ``Attribute`` node that spells ``dotted``."""
    expression = cst.parse_expression(dotted)
    assert isinstance(expression, (cst.Name, cst.Attribute))  # a dotted name parses as one
    return expression


class ModuleMigration(cst.CSTTransformer):
    """Rename Channels 1.x imports, paths and settings; collect findings on the way."""

    METADATA_DEPENDENCIES = (PositionProvider, ScopeProvider)

    def __init__(self, path: str):
        super().__init__()
        self.path = path
        self.findings: list[Finding] = []
        self._seen: set[tuple[str, int, str]] = set()
        self._renamed: set[cst.Name] = set()  # uses of a bound ``channels`` to rename
        self._aliased: set[cst.Import] = set()  # imports to keep as ``... as channels``
        self._installed_apps = 0  # > 0 inside an INSTALLED_APPS value

    # Findings

    def report(self, kind: str, node: cst.CSTNode, message: str) -> None:
        line = self.get_metadata(PositionProvider, node).start.line
        if (kind, line, message) not in self._seen:
            self._seen.add((kind, line, message))
            self.findings.append(Finding(kind, self.path, line, message))

    def check_missing(self, node: cst.CSTNode, dotted: str | None) -> None:
        advice = missing_api(dotted) if dotted else None
        if advice:
            self.report("api", node, advice)

    # Deciding how ``import channels`` is renamed

    def visit_Module(self, node: cst.Module) -> None:
        # ScopeProvider maps each node to its Scope, or None.
        scopes = {scope for scope in self.metadata[ScopeProvider].values() if isinstance(scope, Scope)}
        for scope in scopes:
            # ``import channels.x`` binds ``channels`` and ``channels.x``; LibCST ties
            # a use of ``channels.x.y`` to the longest one.
            bindings = [b for b in scope.assignments if is_old_path(b.name)]
            # Only an Assignment (not a builtin) has the node that binds the name.
            imports = [b for b in bindings if isinstance(b, Assignment) and _binds_old_package(b.node)]
            if not imports:
                continue
            if len(imports) == len(bindings) and not _new_name_taken(scope):
                for binding in imports:
                    for access in binding.references:
                        root: cst.BaseExpression = access.node
                        while isinstance(root, cst.Attribute):
                            root = root.value
                        if isinstance(root, cst.Name):
                            self._renamed.add(root)
            else:
                # ``channels`` is also bound to something else here: keep the name.
                # (each node is an Import: _binds_old_package checked; the test tells the type checker)
                self._aliased.update(binding.node for binding in imports if isinstance(binding.node, cst.Import))

    def leave_Import(self, original: cst.Import, updated: cst.Import) -> cst.Import:
        names: list[cst.ImportAlias] = []
        for alias in updated.names:
            dotted = get_full_name_for_node(alias.name)
            if not dotted or not is_old_path(dotted):
                names.append(alias)
                continue
            self.check_missing(original, dotted)
            if alias.asname is not None or original not in self._aliased:
                names.append(alias.with_changes(name=_dotted(new_module(dotted))))
            elif dotted == OLD_PACKAGE:
                names.append(_alias_as_old(alias, NEW_PACKAGE))
            else:
                # ``import channels.x`` binds ``channels``: load the module, bind the package.
                same = NEW_PACKAGE + dotted[len(OLD_PACKAGE) :]
                names.append(
                    cst.ImportAlias(name=_dotted(same), comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
                )
                names.append(_alias_as_old(alias, NEW_PACKAGE))
        return updated.with_changes(names=names)

    def leave_ImportFrom(self, original: cst.ImportFrom, updated: cst.ImportFrom) -> cst.ImportFrom:
        if updated.relative or updated.module is None:
            return updated
        dotted = get_full_name_for_node(updated.module)
        self._check_django_import(original, dotted, updated.names)
        if not dotted:
            return updated
        if is_old_path(dotted) or dotted == NEW_PACKAGE or dotted.startswith(NEW_PACKAGE + "."):
            self.check_missing(original, dotted)
            if not isinstance(updated.names, cst.ImportStar):
                for alias in updated.names:
                    self.check_missing(original, f"{dotted}.{get_full_name_for_node(alias.name)}")
        if not is_old_path(dotted):
            return updated
        return updated.with_changes(module=_dotted(new_module(dotted)))

    def _check_django_import(
        self,
        node: cst.ImportFrom,
        dotted: str | None,
        names: Sequence[cst.ImportAlias] | cst.ImportStar,
    ) -> None:
        if not dotted or not dotted.startswith("django"):
            return
        for module, advice in DJANGO_MODULES.items():
            if dotted == module or dotted.startswith(module + "."):
                self.report("django", node, advice)
        if isinstance(names, cst.ImportStar):
            return
        for alias in names:
            name_advice = DJANGO_NAMES.get(f"{dotted}.{get_full_name_for_node(alias.name)}")
            if name_advice:
                self.report("django", node, name_advice)

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            dotted = get_full_name_for_node(alias.name) or ""
            for module, advice in DJANGO_MODULES.items():
                if dotted == module or dotted.startswith(module + "."):
                    self.report("django", node, advice)

    # Uses of a bound ``channels``

    def visit_Attribute(self, node: cst.Attribute) -> None:
        root: cst.BaseExpression = node
        while isinstance(root, cst.Attribute):
            root = root.value
        if root in self._renamed or (isinstance(root, cst.Name) and root.value == NEW_PACKAGE):
            self.check_missing(node, get_full_name_for_node(node))

    def leave_Attribute(self, original: cst.Attribute, updated: cst.Attribute) -> cst.Attribute:
        if original.value in self._renamed and original.attr.value == "tests":
            return updated.with_changes(attr=cst.Name("test"))
        return updated

    def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.Name:
        if original in self._renamed:
            return updated.with_changes(value=NEW_PACKAGE)
        return updated

    # Settings: INSTALLED_APPS, CHANNEL_LAYERS, and ones Django dropped

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._enter_setting(target.target)
        self._check_asgi_layer(node)

    def leave_Assign(self, original: cst.Assign, updated: cst.Assign) -> cst.Assign:
        for target in original.targets:
            self._leave_setting(target.target)
        return updated

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._enter_setting(node.target)

    def leave_AnnAssign(self, original: cst.AnnAssign, updated: cst.AnnAssign) -> cst.AnnAssign:
        self._leave_setting(original.target)
        return updated

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._enter_setting(node.target)

    def leave_AugAssign(self, original: cst.AugAssign, updated: cst.AugAssign) -> cst.AugAssign:
        self._leave_setting(original.target)
        return updated

    def _enter_setting(self, target: cst.BaseExpression) -> None:
        name = _setting_name(target)
        if name == INSTALLED_APPS:
            self._installed_apps += 1
        elif name in DJANGO_SETTINGS and isinstance(target, cst.Name):
            self.report("django", target, DJANGO_SETTINGS[name])

    def _leave_setting(self, target: cst.BaseExpression) -> None:
        if _setting_name(target) == INSTALLED_APPS:
            self._installed_apps -= 1

    def visit_Arg(self, node: cst.Arg) -> None:
        if node.keyword is not None and node.keyword.value == INSTALLED_APPS:
            self._installed_apps += 1

    def leave_Arg(self, original: cst.Arg, updated: cst.Arg) -> cst.Arg:
        if original.keyword is not None and original.keyword.value == INSTALLED_APPS:
            self._installed_apps -= 1
        return updated

    def visit_Call(self, node: cst.Call) -> None:
        # INSTALLED_APPS.append("channels"), settings.INSTALLED_APPS.insert(0, ...)
        if isinstance(node.func, cst.Attribute) and _setting_name(node.func.value) == INSTALLED_APPS:
            self._installed_apps += 1

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.Call:
        func = original.func
        if isinstance(func, cst.Attribute) and _setting_name(func.value) == INSTALLED_APPS:
            self._installed_apps -= 1
        return updated

    def visit_DictElement(self, node: cst.DictElement) -> None:
        if _string_value(node.key) == INSTALLED_APPS:
            self._installed_apps += 1

    def leave_DictElement(self, original: cst.DictElement, updated: cst.DictElement) -> cst.DictElement:
        if _string_value(original.key) == INSTALLED_APPS:
            self._installed_apps -= 1
        return updated

    def leave_SimpleString(self, original: cst.SimpleString, updated: cst.SimpleString) -> cst.SimpleString:
        text = _string_value(original)
        if text is None:
            return updated
        if text in BACKENDS:
            return _with_text(updated, BACKENDS[text])
        package = text.split(".", 1)[0]
        if package in UNMAPPED_LAYER_PACKAGES and "." in text:
            self.report("api", original, UNMAPPED_LAYER_PACKAGES[package])
        if text == OLD_PACKAGE and self._installed_apps:
            return _with_text(updated, NEW_PACKAGE)
        if is_old_object_path(text):
            self.check_missing(original, text)
            return _with_text(updated, new_module(text))
        if text.startswith(NEW_PACKAGE + "."):
            self.check_missing(original, text)
        return updated

    def leave_Dict(self, original: cst.Dict, updated: cst.Dict) -> cst.Dict:
        """Drop the CONFIG options of a 1.x BACKEND that ours ignore."""
        backend = None
        for element in original.elements:
            if isinstance(element, cst.DictElement) and _string_value(element.key) == "BACKEND":
                backend = _string_value(element.value)
        ignored = IGNORED_OPTIONS.get(backend or "", ())
        if not ignored:
            return updated
        elements = list(updated.elements)
        for index, element in enumerate(elements):
            if (
                isinstance(element, cst.DictElement)
                and _string_value(element.key) == "CONFIG"
                and isinstance(element.value, cst.Dict)
            ):
                elements[index] = element.with_changes(value=_without_options(element.value, ignored))
        return updated.with_changes(elements=elements)

    def _check_asgi_layer(self, node: cst.Assign) -> None:
        """Report ``channel_layer = get_channel_layer()``, the 1.x ASGI module's line."""
        value = node.value
        if not isinstance(value, cst.Call):
            return
        func = get_full_name_for_node(value.func) or ""
        if func.rsplit(".", 1)[-1] != "get_channel_layer":
            return
        if any(
            isinstance(target.target, cst.Name) and target.target.value == "channel_layer" for target in node.targets
        ):
            self.report("asgi", node, ASGI_MODULE_NOTE)


def _binds_old_package(node: cst.CSTNode) -> bool:
    """Tell whether ``node`` is ``import channels`` or ``import channels.x`` (no ``as``)."""
    if not isinstance(node, cst.Import):
        return False
    return any(alias.asname is None and is_old_path(get_full_name_for_node(alias.name) or "") for alias in node.names)


def _new_name_taken(scope: Scope) -> bool:
    """Tell whether ``channels_test`` is bound in ``scope`` to anything but our package."""
    for binding in scope.assignments[NEW_PACKAGE]:
        if not isinstance(binding, Assignment) or not isinstance(binding.node, cst.Import):
            return True
        for alias in binding.node.names:
            dotted = get_full_name_for_node(alias.name) or ""
            if alias.asname is None and not dotted.split(".")[0] == NEW_PACKAGE:
                return True
    return False


def _alias_as_old(alias: cst.ImportAlias, dotted: str) -> cst.ImportAlias:
    return alias.with_changes(
        name=_dotted(dotted),
        asname=cst.AsName(name=cst.Name(OLD_PACKAGE)),
    )


def _setting_name(target: cst.BaseExpression) -> str | None:
    if isinstance(target, cst.Name):
        return target.value
    if isinstance(target, cst.Attribute):
        return target.attr.value
    return None


def _without_options(config: cst.Dict, options: Sequence[str]) -> cst.Dict:
    """Return the dict literal ``config`` without the entries whose key is in ``options``."""
    index = 0
    while index < len(config.elements):
        element = config.elements[index]
        if isinstance(element, cst.DictElement) and _string_value(element.key) in options:
            config = _without_element(config, index)
        else:
            index += 1
    return config


def _without_element(node: cst.Dict, index: int) -> cst.Dict:
    """Return the dict literal ``node`` without element ``index``, keeping the layout."""
    elements = list(node.elements)
    removed = elements.pop(index)
    if not elements:
        return node.with_changes(elements=[], lbrace=cst.LeftCurlyBrace(), rbrace=cst.RightCurlyBrace())
    if index < len(elements):  # a later element takes the removed one's place
        return node.with_changes(elements=elements)
    # The removed element was the last: the one before it becomes the last.
    previous = elements[-1]
    previous_comma = previous.comma if isinstance(previous.comma, cst.Comma) else None
    before = previous_comma.whitespace_after if previous_comma is not None else None
    after = node.rbrace.whitespace_before
    if isinstance(removed.comma, cst.Comma) and isinstance(removed.comma.whitespace_after, cst.ParenthesizedWhitespace):
        after = removed.comma.whitespace_after
    if (
        previous_comma is not None  # implied by before's test; for the type checker
        and isinstance(before, cst.ParenthesizedWhitespace)
        and isinstance(after, cst.ParenthesizedWhitespace)
    ):
        # Multi-line: keep the previous line (and its comment), close on the old last line.
        elements[-1] = previous.with_changes(
            comma=previous_comma.with_changes(whitespace_after=cst.SimpleWhitespace(""))
        )
        rbrace = node.rbrace.with_changes(
            whitespace_before=after.with_changes(first_line=before.first_line, empty_lines=before.empty_lines)
        )
        return node.with_changes(elements=elements, rbrace=rbrace)
    if isinstance(before, cst.ParenthesizedWhitespace):
        return node.with_changes(elements=elements)
    elements[-1] = previous.with_changes(comma=cst.MaybeSentinel.DEFAULT)
    return node.with_changes(elements=elements)
