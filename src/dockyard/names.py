"""Ids: the slug of a resource's name, 24-hex uids, and the generated ids of builds and runs,
shaped like `joyous-view-6290`."""

from __future__ import annotations

import re
import secrets


def slugify(name: str) -> str:
    """The id of a resource named `name`: lowercase, runs of spaces and dashes as one dash."""
    return re.sub(r"[\s-]+", "-", name.strip().lower())


def new_uid() -> str:
    return secrets.token_hex(12)


ADJECTIVES = (
    "amber",
    "ancient",
    "bold",
    "brave",
    "bright",
    "calm",
    "clever",
    "cosmic",
    "crisp",
    "curious",
    "daring",
    "eager",
    "fancy",
    "fierce",
    "gentle",
    "glad",
    "golden",
    "grand",
    "happy",
    "honest",
    "jolly",
    "joyous",
    "keen",
    "kind",
    "lively",
    "lucky",
    "merry",
    "mighty",
    "misty",
    "noble",
    "patient",
    "polite",
    "proud",
    "quick",
    "quiet",
    "rapid",
    "royal",
    "shiny",
    "silent",
    "smooth",
    "snowy",
    "solid",
    "steady",
    "sunny",
    "swift",
    "tidy",
    "vivid",
    "warm",
    "wise",
    "witty",
)
NOUNS = (
    "anchor",
    "arch",
    "bay",
    "beacon",
    "breeze",
    "brook",
    "canyon",
    "cape",
    "cliff",
    "cloud",
    "coast",
    "comet",
    "creek",
    "dawn",
    "delta",
    "dune",
    "field",
    "fjord",
    "forest",
    "glade",
    "grove",
    "harbor",
    "haven",
    "hill",
    "island",
    "lake",
    "lagoon",
    "meadow",
    "mesa",
    "moon",
    "oasis",
    "ocean",
    "orbit",
    "peak",
    "pier",
    "pine",
    "plain",
    "reef",
    "ridge",
    "river",
    "shore",
    "sky",
    "spring",
    "star",
    "storm",
    "summit",
    "tide",
    "valley",
    "view",
    "wave",
)


def generated_id() -> str:
    adjective, noun = secrets.choice(ADJECTIVES), secrets.choice(NOUNS)
    return f"{adjective}-{noun}-{secrets.randbelow(10000):04d}"
