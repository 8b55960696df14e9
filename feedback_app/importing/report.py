"""The report an import ends with: what was imported, what was already
there, what was skipped and why, and what the author should look at.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Report:
    """Counts and lists, written as the import goes, read by the person
    who ran it."""

    source: str
    dry_run: bool = False
    counts: Counter[str] = field(default_factory=Counter)
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)
    #: What of ``counts`` was written (or would be, in a dry run).
    written: set[str] = field(default_factory=set)

    def count(self, what: str, n: int = 1, *, wrote: bool = False) -> None:
        """Add ``n`` to the count of ``what`` ("posts written", …);
        ``wrote``: these were written (or would be)."""
        if n:
            self.counts[what] += n
            if wrote:
                self.written.add(what)

    def skip(self, what: str, why: str) -> None:
        """Record something left out, and why."""
        self.skipped.append(f"{what}: {why}")

    def note(self, text: str) -> None:
        """Record something to check by hand."""
        self.notes.append(text)

    @property
    def changed(self) -> bool:
        """Whether anything was (or, in a dry run, would be) written."""
        return bool(self.written)

    def text(self) -> str:
        """Return the report as the command prints it."""
        head = f"Import of {self.source}"
        if self.dry_run:
            head += " (dry run: nothing was written)"
        lines = [head, ""]
        if self.counts:
            width = max(len(str(n)) for n in self.counts.values())
            lines += [f"  {n:>{width}}  {what}" for what, n in self.counts.items()]
        if not self.changed:
            lines += ["", "Nothing new: everything in it was imported before."]
        for title, items in (
            ("Skipped", self.skipped),
            ("Threads that matched no article", self.unmatched),
            ("To check", self.notes),
        ):
            if items:
                lines += ["", f"{title} ({len(items)}):"]
                lines += [f"  - {item}" for item in items]
        return "\n".join(lines) + "\n"
