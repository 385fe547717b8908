"""The data of the dashboards (figures 5.1, 5.3, 6.2 and 6.4), for one user.

Every figure reads the current figure set(s) by id, and every per-institution value goes
through :func:`reporting.access.protect_rows` (and the sector and correlation readers
through their disclosure control): a researcher sees what the research API would give,
a coordinator their own institution by name and the others anonymously and protected.
The same dicts feed the charts (:mod:`reporting.charts`), the tables beside them and the
CSV downloads, so the three always show the same numbers.

The package: :mod:`.choice` (what is shown, shared parts), :mod:`.trend` (5.1),
:mod:`.institutions` (5.3, rate ratios, funnel), :mod:`.scatter` (6.2, 6.4),
:mod:`.downloads` (CSV). Below, what the pages use.
"""

from .choice import (
    FIGURES,
    BadChoice,
    Choice,
    current_sets,
    options,
    parse_choice,
    running_year,
    withheld_wholesale,
)
from .downloads import figure_csv_rows
from .institutions import figure_53, funnel
from .scatter import figure_scatter
from .trend import figure_51

__all__ = [
    "FIGURES",
    "BadChoice",
    "Choice",
    "current_sets",
    "figure_51",
    "figure_53",
    "figure_csv_rows",
    "figure_scatter",
    "funnel",
    "options",
    "parse_choice",
    "running_year",
    "withheld_wholesale",
]
