"""A build problem names the file, line and column, says what is wrong and what to fix."""
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    path: str
    line: int
    column: int  # 1-based; 0 when the problem concerns the whole line or file
    column_name: str
    message: str
    fix: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}:{self.column}"
        col = f" column {self.column_name!r}:" if self.column_name else ""
        return f"{where}:{col} {self.message}. Fix: {self.fix}"


class BuildFailed(Exception):
    def __init__(self, problems):
        self.problems = sorted(problems)
        super().__init__(f"{len(self.problems)} problem(s)")

    def report(self) -> str:
        lines = [str(p) for p in self.problems]
        lines.append(f"Build refused: {len(self.problems)} problem(s); the previous database was left untouched.")
        return "\n".join(lines)
