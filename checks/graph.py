"""The shape of a fact declaration (:class:`Fact`), the snapshot checks read (:class:`Snapshot`), and the rules
that settle a fact from the facts it depends on without a call to Azure.

The declarations themselves are in :mod:`checks.facts`; everything that plans, gathers, lists or explains
facts (the runner, the validator's gatherer, doctor, ``labgrader checks list``) reads them from there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar, overload

T = TypeVar("T")
D = TypeVar("D")

UNAVAILABLE_KINDS = (
    "throttled", "busy", "timeout", "unavailable", "permission", "quota", "credentials", "not_found", "internal",
)


@dataclass(frozen=True)
class FactUnavailable:
    """Stored in place of a fact labgrader could not observe.

    ``kind``: throttled (Azure answered HTTP 429), busy (labgrader's own per-resource rate limiter queue is
    full), timeout, unavailable (5xx or connection reset), permission (the grader lacks access), quota (the
    Custom Vision resource's call quota is used up), credentials (the platform-supplied credentials were
    rejected), not_found (the attendee's resource group or subscription does not exist), internal
    (labgrader failed while gathering). ``detail`` is for logs and proctors (service, status code, error
    code); it must not hold keys or secrets. For ``permission``: ``action`` is the Azure action (or data
    action) labgrader's identity was refused, and ``remedy`` the sentence telling the proctor which role
    grants it where (``checks.grants``).
    """

    fact: str
    kind: str
    detail: str = ""
    action: str | None = None
    remedy: str | None = None

    def relabel(self, fact: str) -> FactUnavailable:
        """The same unavailability, for a fact that depends on this one."""
        return replace(self, fact=str(fact))

    def __post_init__(self) -> None:
        if self.kind not in UNAVAILABLE_KINDS:
            raise ValueError(f"FactUnavailable kind must be one of {UNAVAILABLE_KINDS}, not {self.kind!r}")
        object.__setattr__(self, "fact", str(self.fact))  # plain data: the name, not its declaration


@dataclass(frozen=True)
class Parameter:
    """A lab value a fact needs: ``expect[key]`` of check ``check_id`` in lab.yaml (rendered when the key is
    templated), or that key's declared default. With a tuple of keys, the value is the tuple of those
    expectations."""

    check_id: str
    key: str | tuple[str, ...]


class _Observe:
    def __repr__(self) -> str:
        return "OBSERVE"


OBSERVE: Any = _Observe()
"""What :meth:`Fact.settle` returns when only a call to Azure can settle the fact."""

Missing = Callable[[Mapping[str, Any], Any, str], str]
"""(snapshot, context, purpose) -> the clause saying what is missing when a fact is absent ("no Custom Vision
project named 'X' was found"), without a final period; ``purpose`` is the requiring check's ("to export")."""


class Fact(str, Generic[T]):
    """One fact's declaration: the fact's name (the object *is* that name, so it keys snapshots, JSON,
    evidence and call counters as the name does), the type of its value (``Fact[ProjectFact | None]``), the
    facts it depends on, its lab parameter, and how it is obtained: ``derive`` (a pure function of its one
    source's value, its lab parameter and the attendee's resource group) or ``observe`` (the Azure operation
    that reads it; the validator maps each operation to a gateway call once).

    Settling without a call (:meth:`settle`): a derived fact always is; an observed one is None when a fact its
    call needs is absent, unavailable when one is, and otherwise observed, except that

    - ``early``: the facts its call needs when that is fewer than it depends on: it is observed as soon as
      they are settled, and takes the verdict of the others afterwards (:meth:`judge`);
    - ``only_without``: it matters only when that fact is absent (None); while that fact exists it is ``[]``;
    - ``skipped_when``: a predicate on the snapshot; when it holds the fact is None without a call (the
      checks judge without it).

    ``through``: the remembered facts (the training resource, the project) its call goes through, so that a
    successful call proves them and a 401/404 contradicts them. ``produced_by``: the check whose task creates
    the fact; with ``missing``, what the runner says when a check requires the fact and it is absent.
    """

    depends_on: tuple[Fact[Any], ...]
    doc: str
    derive: Callable[[Any, Any, str | None], T] | None
    observe: str | None
    parameter: Parameter | None
    early: tuple[Fact[Any], ...] | None
    only_without: Fact[Any] | None
    skipped_when: Callable[[Mapping[str, Any]], bool] | None
    through: tuple[Fact[Any], ...]
    produced_by: str | None
    missing: Missing | None
    resource_type: str | None

    def __new__(cls, name: str, doc: str = "", *, depends_on: Iterable[Fact[Any]] = (),
                derive: Callable[[Any, Any, str | None], T] | None = None, observe: str | None = None,
                parameter: Parameter | None = None, early: Iterable[Fact[Any]] | None = None,
                only_without: Fact[Any] | None = None,
                skipped_when: Callable[[Mapping[str, Any]], bool] | None = None,
                through: Iterable[Fact[Any]] = (), produced_by: str | None = None, missing: Missing | None = None,
                resource_type: str | None = None) -> Fact[T]:
        self = super().__new__(cls, name)
        self.depends_on = tuple(depends_on)
        self.doc = doc
        self.derive = derive
        self.observe = observe
        self.parameter = parameter
        self.early = tuple(early) if early is not None else None
        self.only_without = only_without
        self.skipped_when = skipped_when
        self.through = tuple(through)
        self.produced_by = produced_by
        self.missing = missing
        self.resource_type = resource_type
        if (derive is None) == (observe is None):
            raise ValueError(f"fact {name!r} must be either derived or observed")
        if derive is not None and len(self.depends_on) != 1:
            raise ValueError(f"derived fact {name!r} must depend on exactly one source fact")
        if (produced_by is None) != (missing is None):
            raise ValueError(f"fact {name!r}: produced_by and missing go together")
        for group in (self.early or (), self.through, (only_without,) if only_without else ()):
            if not set(group) <= set(self.depends_on):
                raise ValueError(f"fact {name!r}: {list(group)} must be among its dependencies")
        return self

    @property
    def name(self) -> str:
        return str(self)

    def __repr__(self) -> str:
        return f"Fact({str(self)!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled (a queued job, a cached value) as its name: plain data, resolved again on the other side.
        return (str, (str(self),))

    @property
    def derived(self) -> bool:
        return self.derive is not None

    @property
    def call_needs(self) -> tuple[Fact[Any], ...]:
        """The facts that must be settled before this one is (its call's inputs, or its source)."""
        return self.early if self.early is not None else self.depends_on

    def settle(self, facts: Mapping[str, Any], param: Any = None, resource_group: str | None = None) -> Any:
        """This fact's value when the facts it depends on decide it without a call to Azure, else
        :data:`OBSERVE`. A dependency that is a :class:`FactUnavailable` makes this one unavailable too
        (re-labelled), so a grader-side failure propagates as such, never as "not found"."""
        if self.only_without is not None:
            other = facts.get(self.only_without)
            if isinstance(other, FactUnavailable):
                return other.relabel(self)
            return [] if other is not None else OBSERVE
        for dep in self.call_needs:
            value = facts.get(dep)
            if isinstance(value, FactUnavailable):
                return value.relabel(self)
            if value is None:
                return None  # its source does not exist (yet): the checks name the task
        if self.derive is not None:
            return self.derive(facts.get(self.depends_on[0]), param, resource_group)
        if self.skipped_when is not None and self.skipped_when(facts):
            return None
        return OBSERVE

    def judge(self, facts: Mapping[str, Any], value: Any) -> Any:
        """For an ``early`` fact once everything it depends on is settled: ``value``, or None / unavailable
        when a dependency its call did not need is absent / unavailable."""
        for dep in self.depends_on:
            other = facts.get(dep)
            if isinstance(other, FactUnavailable):
                return other.relabel(self)
            if other is None:
                return None
        return value


def closure(reads: Iterable[str]) -> tuple[Fact[Any], ...]:
    """``reads`` and every fact they depend on, transitively, dependencies first (names are resolved to
    their declarations by :func:`checks.facts.declaration`)."""
    from checks.facts import declaration

    seen: dict[str, Fact[Any]] = {}

    def visit(fact: Fact[Any]) -> None:
        if fact in seen:
            return
        for dep in fact.depends_on:
            visit(dep)
        seen[fact] = fact

    for r in reads:
        visit(r if isinstance(r, Fact) else declaration(r))
    return tuple(seen.values())


class Snapshot(Mapping[str, Any]):
    """The facts a check judges, typed by their declarations: ``snapshot[F.PROJECT]`` is a
    ``ProjectFact | None``. A fact the check reads is never a :class:`FactUnavailable` by the time the check
    sees it (``checks.base.run_check`` answers ERROR first); one it only *uses* may be (or be missing)."""

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, Any] | None = None) -> None:
        self._values: dict[str, Any] = dict(values or {})

    @overload
    def __getitem__(self, fact: Fact[T]) -> T: ...
    @overload
    def __getitem__(self, fact: str) -> Any: ...
    def __getitem__(self, fact: str) -> Any:
        return self._values[fact]

    @overload
    def get(self, fact: Fact[T]) -> T | FactUnavailable | None: ...
    @overload
    def get(self, fact: Fact[T], default: D) -> T | FactUnavailable | D: ...
    @overload
    def get(self, fact: str, default: Any = None) -> Any: ...
    def get(self, fact: str, default: Any = None) -> Any:
        return self._values.get(fact, default)

    def __contains__(self, fact: object) -> bool:
        return fact in self._values

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Snapshot({self._values!r})"
