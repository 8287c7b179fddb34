"""Where the user's data files live, and a helpful error when one is missing.

Data sets other than scikit-learn's digits are not shipped with jaxpriv (their
terms forbid redistribution or are unclear). The user downloads them once into
a data directory laid out as::

    <data dir>/att_faces/s1/1.pgm ... s40/10.pgm
    <data dir>/steak_survey/steak-risk-survey.csv
    <data dir>/shokri_location/bangkok
    <data dir>/iwpc_warfarin/iwpc_data_7_3_09_revised.csv

and names it with ``data_dir=`` (``--data-dir`` on the command line) or the
``JAXPRIV_DATA`` environment variable.
"""

from __future__ import annotations

import os
import pathlib

ENV_VAR = "JAXPRIV_DATA"

# Top-level folder of the data directory -> (data set, where to get it).
SOURCES: dict[str, tuple[str, str]] = {
    "att_faces": (
        'AT&T "The Database of Faces" (formerly the ORL Database of Faces)',
        "the AT&T Laboratories Cambridge / ORL face database archive (att_faces.zip or"
        " orl_faces.zip; unpack so that att_faces/s1/1.pgm exists)",
    ),
    "steak_survey": (
        "FiveThirtyEight steak survey",
        "https://github.com/fivethirtyeight/data/tree/master/steak-survey"
        " (steak-risk-survey.csv)",
    ),
    "shokri_location": (
        "Location (Shokri et al. 2017, Foursquare Bangkok)",
        "https://github.com/privacytrustlab/datasets (dataset_location.tgz; extract"
        " its one member `bangkok`)",
    ),
    "iwpc_warfarin": (
        "IWPC warfarin data",
        'PharmGKB, https://www.pharmgkb.org/downloads/ ("IWPC Data",'
        " iwpc_data_7_3_09_revised, saved as CSV)",
    ),
}


def data_dir(data_dir: str | os.PathLike | None = None) -> pathlib.Path | None:
    """Resolves the user's data directory.

    Args:
      data_dir: an explicit directory; it wins when given.

    Returns:
      ``data_dir`` if given, else the ``JAXPRIV_DATA`` environment variable if
      set and non-empty, else ``None``. ``~`` is expanded; the directory is not
      required to exist.

    Example:
      >>> data_dir("/data/jaxpriv")
      PosixPath('/data/jaxpriv')
    """
    if data_dir is not None and str(data_dir) != "":
        return pathlib.Path(data_dir).expanduser()
    env = os.environ.get(ENV_VAR, "")
    if env:
        return pathlib.Path(env).expanduser()
    return None


def _places(data_dir_arg) -> list[tuple[pathlib.Path, str]]:
    """The directories to search (at most one), each with where it came from."""
    directory = data_dir(data_dir_arg)
    if directory is None:
        return []
    if data_dir_arg is not None and str(data_dir_arg) != "":
        return [(directory, f"data_dir={str(data_dir_arg)!r}")]
    return [(directory, f"{ENV_VAR}={os.environ[ENV_VAR]!r}")]


def find_file(
    relative_path: str | os.PathLike,
    data_dir: str | os.PathLike | None = None,
) -> pathlib.Path:
    """Finds ``relative_path`` inside the data directory.

    Args:
      relative_path: path inside the data directory, e.g.
        ``"steak_survey/steak-risk-survey.csv"``.
      data_dir: explicit data directory; otherwise ``JAXPRIV_DATA`` is used
        (see ``data_dir``).

    Returns:
      The absolute path of the existing file.

    Raises:
      FileNotFoundError: the file is not there. The message names the file,
        every place looked, how to point jaxpriv at the data and where to
        download it.
    """
    relative_path = pathlib.PurePath(relative_path)
    places = _places(data_dir)
    for directory, _ in places:
        candidate = directory / relative_path
        if candidate.is_file():
            return candidate.resolve()
    raise FileNotFoundError(_missing_message(relative_path, places))


def _missing_message(relative_path: pathlib.PurePath, places) -> str:
    lines = [f"Could not find the data file {str(relative_path)!r}."]
    if places:
        lines.append("Looked in:")
        lines += [f"  {directory / relative_path}  (from {origin})"
                  for directory, origin in places]
    else:
        lines.append(
            f"Looked nowhere: no data directory is set (data_dir= was not given and"
            f" the {ENV_VAR} environment variable is not set).")
    lines.append(
        f"To fix: put the file at <data dir>/{relative_path} and set {ENV_VAR}=<data dir>"
        " or pass --data-dir <data dir> (command line) / data_dir=<data dir> (Python).")
    top = relative_path.parts[0] if relative_path.parts else ""
    sources = {top: SOURCES[top]} if top in SOURCES else SOURCES
    lines.append("Download:")
    lines += [f"  {folder}/: {title}, from {where}"
              for folder, (title, where) in sources.items()]
    return "\n".join(lines)
