"""Loaders for the data sets of the papers jaxpriv reproduces.

Every loader returns a ``Dataset`` with float32 ``x [n, d]``, int32 ``y [n]``
(float32 for the warfarin regression) and its metadata filled in. Only
``load_digits`` needs no files; the others read from the user's data directory
(``data_dir=`` or ``JAXPRIV_DATA``, see ``jaxpriv.data.find_file``). Parsing is
host-side NumPy and the standard library; nothing here runs on a device.
"""

from __future__ import annotations

import csv
import os
from typing import Callable, NamedTuple

import numpy as np

from jaxpriv import _validate
from jaxpriv.data._dataset import Dataset
from jaxpriv.data._paths import find_file

PathLike = str | os.PathLike | None

MISSING = "missing"


# ----------------------------------------------------------------------------
# digits
# ----------------------------------------------------------------------------

def load_digits() -> Dataset:
    """scikit-learn's 8x8 handwritten digits (bundled; no download).

    The default data set: small enough for tests and smoke runs.

    Returns:
      A Dataset with ``x`` float32 ``[1797, 64]`` in ``[0, 1]`` (pixel / 16),
      ``y`` int32 ``[1797]`` in ``[0, 10)``, ``image_shape=(8, 8)``.

    Example:
      >>> ds = load_digits()
      >>> ds.images().shape
      (1797, 8, 8)
    """
    from sklearn import datasets  # Imported here: scikit-learn is slow to import.

    raw = datasets.load_digits()
    return Dataset(
        name="digits",
        x=(np.asarray(raw.data, np.float32) / np.float32(16.0)),
        y=np.asarray(raw.target, np.int32),
        num_classes=10,
        feature_names=tuple(raw.feature_names),
        class_names=tuple(str(c) for c in range(10)),
        image_shape=(8, 8),
    )


# ----------------------------------------------------------------------------
# AT&T faces
# ----------------------------------------------------------------------------

ATT_SUBJECTS = 40
ATT_IMAGES = 10
ATT_HEIGHT, ATT_WIDTH = 112, 92


def _read_pgm(path) -> np.ndarray:
    """Reads a binary (P5) 8-bit PGM file into a uint8 ``[height, width]`` array."""
    raw = path.read_bytes()
    fields, pos = [], 0
    while len(fields) < 4:
        while pos < len(raw) and raw[pos:pos + 1].isspace():
            pos += 1
        if raw[pos:pos + 1] == b"#":  # Comment up to the end of the line.
            while pos < len(raw) and raw[pos:pos + 1] not in (b"\n", b"\r"):
                pos += 1
            continue
        start = pos
        while pos < len(raw) and not raw[pos:pos + 1].isspace():
            pos += 1
        if start == pos:
            raise ValueError(f"Expected a PGM header in {path}; the file ends after {fields}.")
        fields.append(raw[start:pos])
    pos += 1  # One whitespace byte separates the header from the pixels.
    if fields[0] != b"P5":
        raise ValueError(f"Expected a binary PGM (magic P5) in {path}; got magic {fields[0]!r}.")
    try:
        width, height, maxval = (int(f) for f in fields[1:])
    except ValueError:
        raise ValueError(f"Expected integer width, height, maxval in {path};"
                         f" got {fields[1:]}.") from None
    if maxval != 255:
        raise ValueError(f"Expected maxval=255 in {path}; got maxval={maxval}.")
    data = raw[pos:]
    if len(data) != width * height:
        raise ValueError(f"Expected {width} x {height} = {width * height} pixel bytes in {path};"
                         f" got {len(data)}.")
    return np.frombuffer(data, np.uint8).reshape(height, width)


def load_att_faces(data_dir: PathLike = None) -> Dataset:
    """AT&T "The Database of Faces" (formerly ORL): 40 subjects x 10 images.

    Reads ``<data dir>/att_faces/s<k>/<i>.pgm`` (k = 1..40, i = 1..10), binary
    PGM, 92 wide x 112 high, 8-bit. Used by Fredrikson, Jha, Ristenpart
    (CCS 2015, Section 5) for MI-Face and by Tramer et al. (USENIX Security
    2016) for model extraction.

    Args:
      data_dir: the data directory; default ``JAXPRIV_DATA``.

    Returns:
      A Dataset with ``x`` float32 ``[400, 10304]`` = pixel / 255 (rows of the
      112 x 92 image, flattened), ``y`` int32 ``[400]`` = subject - 1,
      ``image_shape=(112, 92)``. Row order is s1/1..s1/10, s2/1, ..., s40/10.
      ``extra["image_index"]`` is int32 ``[400]``, the image number i (1..10)
      of each row.

    Raises:
      FileNotFoundError: a file is missing (the message says where to get it).
      ValueError: a file is not a 92 x 112 8-bit binary PGM.
    """
    n = ATT_SUBJECTS * ATT_IMAGES
    pixels = np.empty((n, ATT_HEIGHT * ATT_WIDTH), np.float32)
    subject = np.empty(n, np.int32)
    image_index = np.empty(n, np.int32)
    row = 0
    for k in range(1, ATT_SUBJECTS + 1):
        for i in range(1, ATT_IMAGES + 1):
            path = find_file(f"att_faces/s{k}/{i}.pgm", data_dir)
            image = _read_pgm(path)
            if image.shape != (ATT_HEIGHT, ATT_WIDTH):
                raise ValueError(f"Expected a {ATT_WIDTH} x {ATT_HEIGHT} image in {path};"
                                 f" got {image.shape[1]} x {image.shape[0]}.")
            pixels[row] = image.reshape(-1) / np.float32(255.0)
            subject[row] = k - 1
            image_index[row] = i
            row += 1
    return Dataset(
        name="att_faces",
        x=pixels,
        y=subject,
        num_classes=ATT_SUBJECTS,
        feature_names=tuple(f"pixel_{r}_{c}" for r in range(ATT_HEIGHT)
                            for c in range(ATT_WIDTH)),
        class_names=tuple(f"s{k}" for k in range(1, ATT_SUBJECTS + 1)),
        image_shape=(ATT_HEIGHT, ATT_WIDTH),
        extra={"image_index": image_index},
    )


# ----------------------------------------------------------------------------
# Helpers for the CSV data sets
# ----------------------------------------------------------------------------

def _read_csv(path) -> tuple[list[str], list[list[str]]]:
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    if not rows:
        raise ValueError(f"Expected a header row in {path}; the file is empty.")
    return rows[0], rows[1:]


def _column(header: list[str], name: str, path) -> int:
    try:
        return header.index(name)
    except ValueError:
        raise ValueError(f"Expected a column {name!r} in {path}; got columns {header}.") from None


def _code(value: str, values: tuple[str, ...], column: str, path) -> int:
    try:
        return values.index(value)
    except ValueError:
        raise ValueError(f"Unknown value {value!r} in column {column!r} of {path};"
                         f" expected one of {values}.") from None


# ----------------------------------------------------------------------------
# FiveThirtyEight steak survey
# ----------------------------------------------------------------------------

STEAK_FILE = "steak_survey/steak-risk-survey.csv"
STEAK_TARGET = "How do you like your steak prepared?"
STEAK_CLASSES = ("Rare", "Medium rare", "Medium", "Medium Well", "Well")
_YES_NO = ("No", "Yes")
# (short name, column header, answers in code order). Ordinal answers are in
# their natural order, census regions alphabetically. "missing" (a blank
# answer) is appended as the last code of every feature except the sensitive one.
STEAK_FEATURES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("lottery",
     "Consider the following hypothetical situations: <br>In Lottery A, you have a 50%"
     " chance of success, with a payout of $100. <br>In Lottery B, you have a 90% chance"
     " of success, with a payout of $20. <br><br>Assuming you have $10 to bet, would you"
     " play Lottery A or Lottery B?",
     ("Lottery A", "Lottery B")),
    ("smoke", "Do you ever smoke cigarettes?", _YES_NO),
    ("alcohol", "Do you ever drink alcohol?", _YES_NO),
    ("gamble", "Do you ever gamble?", _YES_NO),
    ("skydiving", "Have you ever been skydiving?", _YES_NO),
    ("speed", "Do you ever drive above the speed limit?", _YES_NO),
    ("cheated", "Have you ever cheated on your significant other?", _YES_NO),
    ("gender", "Gender", ("Female", "Male")),
    ("age", "Age", ("18-29", "30-44", "45-60", "> 60")),
    ("income", "Household Income",
     ("$0 - $24,999", "$25,000 - $49,999", "$50,000 - $99,999", "$100,000 - $149,999",
      "$150,000+")),
    ("education", "Education",
     ("Less than high school degree", "High school degree",
      "Some college or Associate degree", "Bachelor degree", "Graduate degree")),
    ("location", "Location (Census Region)",
     ("East North Central", "East South Central", "Middle Atlantic", "Mountain",
      "New England", "Pacific", "South Atlantic", "West North Central",
      "West South Central")),
)
STEAK_SENSITIVE = "cheated"


def load_steak_survey(data_dir: PathLike = None) -> Dataset:
    """FiveThirtyEight's steak / risk survey, set up as in Fredrikson et al. 2015.

    Fredrikson, Jha, Ristenpart, "Model Inversion Attacks that Exploit
    Confidence Information and Basic Countermeasures", CCS 2015, Section 4: a
    decision tree predicts how a respondent likes their steak from their other
    answers; the attacker infers the sensitive answer "Have you ever cheated on
    your significant other?".

    Reads ``<data dir>/steak_survey/steak-risk-survey.csv`` (550 respondents;
    the second row, ``,Response,Response,...``, is a sub-header and skipped).

    Choices, exactly:
      * Target ``y``: "How do you like your steak prepared?", codes 0..4 for
        Rare, Medium rare, Medium, Medium Well, Well. Rows with a blank target
        are dropped (118 in the published file; 432 remain).
      * Dropped columns: RespondentID; "Do you eat steak?" (among kept rows it
        is "Yes" or blank, so it carries no information about the answers).
      * Features (12, in this order): lottery, smoke, alcohol, gamble,
        skydiving, speed, cheated, gender, age, income, education, location,
        each an integer code into ``value_sets[name]`` (stored as float32).
        Ordinal answers (age, income, education) are coded in their natural
        order, census regions alphabetically, yes/no as No=0, Yes=1.
      * A blank answer gets its own last code ``"missing"`` in every feature
        except the sensitive one.
      * ``sensitive`` is the index of "cheated" (value set ``("No", "Yes")``).
        Rows where it is blank (2 in the published file) are not in ``x``;
        they are kept in ``extra["sensitive_missing"]``, a Dataset with the same
        metadata whose "cheated" column is -1 (the key is absent when there
        are no such rows).

    Args:
      data_dir: the data directory; default ``JAXPRIV_DATA``.

    Returns:
      A Dataset with ``x`` float32 ``[430, 12]``, ``y`` int32 ``[430]`` in
      ``[0, 5)``, ``sensitive=6``, for the published file.
    """
    path = find_file(STEAK_FILE, data_dir)
    header, rows = _read_csv(path)
    if rows and rows[0] and rows[0][0] == "" and all(v == "Response" for v in rows[0][1:]):
        rows = rows[1:]
    target = _column(header, STEAK_TARGET, path)
    columns = [_column(header, title, path) for _, title, _ in STEAK_FEATURES]
    names = tuple(name for name, _, _ in STEAK_FEATURES)
    sensitive = names.index(STEAK_SENSITIVE)
    value_sets = {name: values if name == STEAK_SENSITIVE else values + (MISSING,)
                  for name, _, values in STEAK_FEATURES}

    x, y = [], []
    for row in rows:
        if len(row) != len(header):
            raise ValueError(f"Expected {len(header)} fields per row in {path};"
                             f" got {len(row)} in row {row}.")
        answer = row[target].strip()
        if answer == "":
            continue
        y.append(_code(answer, STEAK_CLASSES, STEAK_TARGET, path))
        codes = []
        for j, (name, title, _) in enumerate(STEAK_FEATURES):
            value = row[columns[j]].strip()
            if value == "" and name == STEAK_SENSITIVE:
                codes.append(-1)
            else:
                codes.append(_code(value or MISSING, value_sets[name], title, path))
        x.append(codes)
    x = np.asarray(x, np.float32).reshape(-1, len(names))
    y = np.asarray(y, np.int32)
    known = x[:, sensitive] >= 0

    def make(mask, extra):
        return Dataset(name="steak_survey", x=x[mask], y=y[mask],
                       num_classes=len(STEAK_CLASSES), feature_names=names,
                       sensitive=sensitive, value_sets=value_sets,
                       class_names=STEAK_CLASSES, extra=extra)

    extra = {"sensitive_missing": make(~known, {})} if np.any(~known) else {}
    return make(known, extra)


# ----------------------------------------------------------------------------
# Location (Shokri et al. 2017)
# ----------------------------------------------------------------------------

LOCATION_FILE = "shokri_location/bangkok"
LOCATION_CLASSES = 30
LOCATION_FEATURES = 446


def load_location(data_dir: PathLike = None) -> Dataset:
    """The Location data set of Shokri et al. (S&P 2017): Foursquare, Bangkok.

    Shokri, Stronati, Song, Shmatikov, "Membership Inference Attacks Against
    Machine Learning Models", IEEE S&P 2017, Section V-A: 5,010 users, 446
    binary features (visited a region or location type), 30 classes
    (geosocial profiles).

    Reads ``<data dir>/shokri_location/bangkok`` (the one member of
    ``dataset_location.tgz``): no header, 447 comma-separated fields per line;
    field 0 is the quoted class label ``"1"``..``"30"``, fields 1..446 are 0/1.

    Args:
      data_dir: the data directory; default ``JAXPRIV_DATA``.

    Returns:
      A Dataset with ``x`` float32 ``[5010, 446]`` in {0, 1}, ``y`` int32
      ``[5010]`` = label - 1 in ``[0, 30)``.
    """
    path = find_file(LOCATION_FILE, data_dir)
    text = path.read_text(encoding="ascii").replace('"', "")
    lines = [line for line in text.splitlines() if line.strip()]
    table = np.array([line.split(",") for line in lines])
    if table.ndim != 2 or table.shape[1] != LOCATION_FEATURES + 1:
        widths = sorted({len(line.split(",")) for line in lines})
        raise ValueError(f"Expected {LOCATION_FEATURES + 1} fields per line in {path};"
                         f" got {widths}.")
    table = table.astype(np.int32)
    y = table[:, 0] - 1
    x = table[:, 1:].astype(np.float32)
    if not np.all((x == 0) | (x == 1)):
        raise ValueError(f"Expected binary features in {path}; got values {np.unique(x)}.")
    return Dataset(
        name="location",
        x=x,
        y=y,
        num_classes=LOCATION_CLASSES,
        feature_names=tuple(f"f{j}" for j in range(1, LOCATION_FEATURES + 1)),
        class_names=tuple(str(c) for c in range(1, LOCATION_CLASSES + 1)),
    )


# ----------------------------------------------------------------------------
# IWPC warfarin
# ----------------------------------------------------------------------------

WARFARIN_FILE = "iwpc_warfarin/iwpc_data_7_3_09_revised.csv"
WARFARIN_DOSE = "Therapeutic Dose of Warfarin"
# Age decades; code = decade, which is the IWPC "age in decades" variable.
WARFARIN_AGES = ("0 - 9", "10 - 19", "20 - 29", "30 - 39", "40 - 49", "50 - 59", "60 - 69",
                 "70 - 79", "80 - 89", "90+")
# Spellings of the same bin seen in circulated copies (Excel turned "10-19" into a date).
_AGE_ALIASES = {"19-Oct": "10 - 19", "10-19": "10 - 19"}
WARFARIN_RACES = ("White", "Asian", "Black or African American", "Unknown")
WARFARIN_CYP2C9 = ("*1/*1", "*1/*2", "*1/*3", "*2/*2", "*2/*3", "*3/*3")
WARFARIN_VKORC1 = ("A/A", "A/G", "G/G")
_INDUCERS = ("Carbamazepine (Tegretol)", "Phenytoin (Dilantin)", "Rifampin or Rifampicin")
WARFARIN_FEATURES = ("age", "height", "weight", "race", "enzyme_inducer", "amiodarone",
                     "cyp2c9", "vkorc1")
_NA = ("", "NA")


def _float_or_none(value: str) -> float | None:
    value = value.strip()
    if value in _NA:
        return None
    return float(value)


def load_warfarin(data_dir: PathLike = None) -> Dataset:
    """The IWPC warfarin data with the features of the IWPC dosing model.

    Fredrikson, Lantz, Jha, Lin, Page, Ristenpart, "Privacy in
    Pharmacogenetics: An End-to-End Case Study of Personalized Warfarin
    Dosing", USENIX Security 2014: a linear model predicts the stable weekly
    dose from demographics, medication and genotype (the IWPC pharmacogenetic
    model, NEJM 2009); the attacker infers the VKORC1 genotype.

    Reads ``<data dir>/iwpc_warfarin/iwpc_data_7_3_09_revised.csv`` (5,700
    patients; ``NA`` or blank is missing).

    Choices, exactly:
      * ``y``: "Therapeutic Dose of Warfarin" in mg/week, float32; a
        regression (``num_classes=0``).
      * Features (8, in this order, float32):
        ``age`` decade code 0..9 (``value_sets["age"]``; "10 - 19", which some
        copies spell "19-Oct", is 1; "90+" is 9); ``height`` in cm;
        ``weight`` in kg; ``race`` code over "Race (OMB)" (White, Asian, Black
        or African American, Unknown; "Unknown" is kept as a category, as the
        IWPC model has a term for missing or mixed race); ``enzyme_inducer``
        1 if carbamazepine, phenytoin or rifampin is 1, 0 if all three are 0;
        ``amiodarone`` 0/1; ``cyp2c9`` code over "CYP2C9 consensus"
        (*1/*1, *1/*2, *1/*3, *2/*2, *2/*3, *3/*3); ``vkorc1`` code over
        "VKORC1 -1639 consensus" (A/A, A/G, G/G), the ``sensitive`` column.
      * A row is kept only when the dose and all eight features are known:
        no imputation. So rows with a missing height or weight, an unknown
        inducer status (no drug is 1 and some is NA), a missing amiodarone flag,
        a rare CYP2C9 allele (*5, *6, *11, *13, *14) or a missing genotype are
        dropped. (The IWPC treated missing medication as "not taken"; we do not.)

    Args:
      data_dir: the data directory; default ``JAXPRIV_DATA``.

    Returns:
      A Dataset with ``x`` float32 ``[n, 8]``, ``y`` float32 ``[n]``,
      ``num_classes=0``, ``sensitive=7``; n = 1,741 for the published file.
      ``warfarin_design_matrix`` turns it into a linear model's inputs.
    """
    path = find_file(WARFARIN_FILE, data_dir)
    header, rows = _read_csv(path)
    col = {name: _column(header, name, path) for name in (
        WARFARIN_DOSE, "Age", "Height (cm)", "Weight (kg)", "Race (OMB)",
        "Amiodarone (Cordarone)", "CYP2C9 consensus", "VKORC1 -1639 consensus") + _INDUCERS}

    x, y = [], []
    for row in rows:
        if len(row) != len(header):
            raise ValueError(f"Expected {len(header)} fields per row in {path};"
                             f" got {len(row)}.")
        dose = _float_or_none(row[col[WARFARIN_DOSE]])
        height = _float_or_none(row[col["Height (cm)"]])
        weight = _float_or_none(row[col["Weight (kg)"]])
        age = row[col["Age"]].strip()
        age = _AGE_ALIASES.get(age, age)
        race = row[col["Race (OMB)"]].strip()
        amiodarone = row[col["Amiodarone (Cordarone)"]].strip()
        inducers = [row[col[name]].strip() for name in _INDUCERS]
        if "1" in inducers:
            inducer = 1
        elif all(v == "0" for v in inducers):
            inducer = 0
        else:
            inducer = None
        cyp2c9 = row[col["CYP2C9 consensus"]].strip()
        vkorc1 = row[col["VKORC1 -1639 consensus"]].strip()
        if (dose is None or height is None or weight is None or age in _NA
                or race in _NA or amiodarone in _NA or inducer is None
                or cyp2c9 not in WARFARIN_CYP2C9 or vkorc1 not in WARFARIN_VKORC1):
            continue
        x.append((
            _code(age, WARFARIN_AGES, "Age", path),
            height,
            weight,
            _code(race, WARFARIN_RACES, "Race (OMB)", path),
            inducer,
            _code(amiodarone, ("0", "1"), "Amiodarone (Cordarone)", path),
            WARFARIN_CYP2C9.index(cyp2c9),
            WARFARIN_VKORC1.index(vkorc1),
        ))
        y.append(dose)
    return Dataset(
        name="warfarin",
        x=np.asarray(x, np.float32).reshape(-1, len(WARFARIN_FEATURES)),
        y=np.asarray(y, np.float32),
        num_classes=0,
        feature_names=WARFARIN_FEATURES,
        sensitive=WARFARIN_FEATURES.index("vkorc1"),
        value_sets={
            "age": WARFARIN_AGES,
            "race": WARFARIN_RACES,
            "enzyme_inducer": _YES_NO,
            "amiodarone": _YES_NO,
            "cyp2c9": WARFARIN_CYP2C9,
            "vkorc1": WARFARIN_VKORC1,
        },
        extra={"y_unit": "mg/week"},
    )


class WarfarinDesign(NamedTuple):
    """A linear dose model's inputs, and how the sensitive genotype enters them.

    Attributes:
      matrix: float32 ``[n, p]`` design matrix (no intercept column).
      columns: ``p`` column names.
      sensitive_columns: int ``[k]`` indices of the VKORC1 columns in ``matrix``.
      sensitive_codes: float32 ``[num_values, k]``; row ``v`` is what those
        columns hold when VKORC1 is ``value_sets["vkorc1"][v]``. An inversion
        attack sets ``matrix[:, sensitive_columns] = sensitive_codes[v]`` for
        each candidate ``v``.
      sensitive_values: the VKORC1 values, in the order of ``sensitive_codes``.
    """

    matrix: np.ndarray
    columns: tuple[str, ...]
    sensitive_columns: np.ndarray
    sensitive_codes: np.ndarray
    sensitive_values: tuple[str, ...]


def warfarin_design_matrix(ds: Dataset) -> WarfarinDesign:
    """The design matrix of the IWPC-style linear warfarin dose model.

    Numeric columns are age (decade code), height (cm) and weight (kg) as they
    are; enzyme inducer and amiodarone are 0/1; race, CYP2C9 and VKORC1 are
    one-hot with their first value (White, *1/*1, A/A) as the dropped
    reference level. There is no intercept column: the model's bias plays that
    part. The IWPC model regresses sqrt(dose) on these columns (Klein et al.,
    NEJM 2009); Fredrikson et al. (USENIX Security 2014, Section 3) invert such
    a model by enumerating the VKORC1 values.

    Args:
      ds: the Dataset from ``load_warfarin`` (or a subset of it).

    Returns:
      A ``WarfarinDesign``; for the standard columns ``p = 15``: age, height,
      weight, race=Asian, race=Black or African American, race=Unknown,
      enzyme_inducer, amiodarone, cyp2c9=*1/*2, *1/*3, *2/*2, *2/*3, *3/*3,
      vkorc1=A/G, vkorc1=G/G.

    Example:
      >>> design = warfarin_design_matrix(load_warfarin())
      >>> design.matrix[:, design.sensitive_columns] = design.sensitive_codes[0]
    """
    if tuple(ds.feature_names) != WARFARIN_FEATURES:
        raise ValueError(f"Expected ds.feature_names={WARFARIN_FEATURES} (from load_warfarin);"
                         f" got {tuple(ds.feature_names)}.")
    x = _validate.array("ds.x", ds.x, shape=(None, len(WARFARIN_FEATURES)))
    value_sets = {name: tuple(ds.value_sets[name]) for name in ("race", "cyp2c9", "vkorc1")}
    blocks, columns, sensitive_columns = [], [], []
    for j, name in enumerate(WARFARIN_FEATURES):
        column = x[:, j]
        if name not in value_sets:
            blocks.append(column[:, None].astype(np.float32))
            columns.append(name)
            continue
        values = value_sets[name]
        codes = column.astype(np.int64)
        if np.any(codes != column) or np.any(codes < 0) or np.any(codes >= len(values)):
            raise ValueError(f"Expected ds.x[:, {j}] ({name}) to hold codes in"
                             f" [0, {len(values) - 1}]; got values {np.unique(column)}.")
        one_hot = (codes[:, None] == np.arange(1, len(values))[None, :]).astype(np.float32)
        if name == "vkorc1":
            sensitive_columns = list(range(len(columns), len(columns) + len(values) - 1))
        blocks.append(one_hot)
        columns += [f"{name}={v}" for v in values[1:]]
    vkorc1 = value_sets["vkorc1"]
    codes = np.eye(len(vkorc1), dtype=np.float32)[:, 1:]
    return WarfarinDesign(
        matrix=np.concatenate(blocks, axis=1),
        columns=tuple(columns),
        sensitive_columns=np.asarray(sensitive_columns, np.int64),
        sensitive_codes=codes,
        sensitive_values=vkorc1,
    )


# ----------------------------------------------------------------------------
# Dispatch by name
# ----------------------------------------------------------------------------

_LOADERS: dict[str, Callable[..., Dataset]] = {
    "digits": lambda data_dir=None: load_digits(),
    "att_faces": load_att_faces,
    "steak_survey": load_steak_survey,
    "location": load_location,
    "warfarin": load_warfarin,
}
DATASETS: tuple[str, ...] = tuple(_LOADERS)


def load(name: str, data_dir: PathLike = None) -> Dataset:
    """Loads a data set by name.

    Args:
      name: one of ``DATASETS``: "digits", "att_faces", "steak_survey",
        "location", "warfarin".
      data_dir: the data directory (ignored by "digits"); default
        ``JAXPRIV_DATA``.

    Returns:
      The loader's Dataset.

    Raises:
      ValueError: ``name`` is unknown; the message lists the known names.

    Example:
      >>> load("digits").x.shape
      (1797, 64)
    """
    _validate.one_of("name", name, DATASETS)
    return _LOADERS[name](data_dir=data_dir)
