"""Contract types of our own for import-linter, registered in pyproject.toml
(`[tool.importlinter] contract_types`) and checked by `lint-imports` in `make check`.

import-linter's own contracts name what may not be imported; none says "nothing but the
standard library": the standard library's modules are external packages in its graph like
any other (a `*` wildcard forbids them too), and a module expression cannot exclude. So
`standard_library_only` is a forbidden contract whose forbidden modules are found, not
listed: every external package in the graph that is not in `sys.stdlib_module_names`. A
third-party import nobody thought to name still breaks it, directly or through another
module, and the report is the forbidden contract's (each chain, with its line numbers).
"""

from __future__ import annotations

import sys

from grimp import ImportGraph
from importlinter.contracts.forbidden import ForbiddenContract
from importlinter.domain import fields
from importlinter.domain.contract import ContractCheck, InvalidContractOptions
from importlinter.domain.imports import ModuleExpression


class StandardLibraryOnlyContract(ForbiddenContract):
    """The source modules import no package outside the standard library (and their own root
    packages, which other contracts govern). Options: `source_modules`; `forbidden_modules`
    are not given (found in the graph); the forbidden contract's other options apply. Needs
    `include_external_packages = true`, without which the graph holds no external package."""

    forbidden_modules = fields.SetField(subfield=fields.ModuleExpressionField(), required=False)

    def validate(self) -> None:
        if self.contract_options.get("forbidden_modules"):
            raise InvalidContractOptions({"forbidden_modules": "Found in the graph: every package outside the "
                                          "standard library; not given."})
        if not self._graph_was_built_with_externals():
            raise InvalidContractOptions({"source_modules": "The top level configuration must have "
                                          "include_external_packages = true."})

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        self.forbidden_modules = {ModuleExpression(name) for name in sorted(third_party_packages(graph))}
        return super().check(graph, verbose)


def third_party_packages(graph: ImportGraph) -> set[str]:
    """The graph's external packages (squashed to their top-level name) that are not the
    standard library's."""
    return {
        name for name in graph.modules
        if "." not in name and graph.is_module_squashed(name) and name not in sys.stdlib_module_names
    }
