"""Customer names (companies and people, Chinese and Latin script) as comparison keys.

A name is folded (:func:`crm_core.identity.text.fold`), traditional characters become
simplified, common abbreviations are spelled out and the company form is removed
(``上海華盛機械製造有限責任公司`` and ``华盛机械制造(有限公司)`` in Shanghai share the key
``华盛机械制造``; ``Müller GmbH & Co. KG`` and ``MUELLER`` do not, ``Muller G.m.b.H.`` does).
"""

from __future__ import annotations

from dataclasses import dataclass

from crm_core.identity.chinese import pinyin_syllables, split_person_name, to_simplified
from crm_core.identity.text import MAX_LENGTH, fold, has_han, is_han

#: Chinese company forms, longest first; removed from the end of a name, repeatedly.
CHINESE_COMPANY_FORMS = (
    "集团股份有限公司",
    "集团有限责任公司",
    "集团有限公司",
    "股份有限公司",
    "有限责任公司",
    "有限公司",
    "股份公司",
    "责任公司",
    "分公司",
    "总公司",
    "集团",
    "公司",
)
#: Latin company forms as words (after folding: no dots, lower case); removed from the end.
LATIN_COMPANY_FORMS = frozenset(
    [
        "gmbh",
        "mbh",
        "ag",
        "kg",
        "kgaa",
        "ohg",
        "gbr",
        "ug",
        "haftungsbeschrankt",
        "ev",
        "se",
        "co",
        "cie",
        "company",
        "companies",
        "corp",
        "corporation",
        "inc",
        "incorporated",
        "llc",
        "llp",
        "lp",
        "ltd",
        "limited",
        "plc",
        "sa",
        "sarl",
        "sas",
        "sasu",
        "eurl",
        "sca",
        "sc",
        "snc",
        "bv",
        "nv",
        "vof",
        "srl",
        "spa",
        "sl",
        "slu",
        "oy",
        "ab",
        "as",
        "asa",
        "aps",
        "pty",
        "pvt",
        "private",
        "and",
        "&",
    ]
)
#: Abbreviations spelled out in names.
NAME_ABBREVIATIONS = {
    "intl": "international",
    "int'l": "international",
    "mfg": "manufacturing",
    "mfrs": "manufacturers",
    "mfr": "manufacturer",
    "bros": "brothers",
    "tech": "technology",
    "techn": "technology",
    "svc": "services",
    "svcs": "services",
    "natl": "national",
    "assn": "association",
    "assoc": "associates",
    "dept": "department",
    "grp": "group",
    "hldg": "holding",
    "hldgs": "holdings",
    "inds": "industries",
    "ind": "industries",
    "mgmt": "management",
    "sys": "systems",
    "engg": "engineering",
    "elec": "electric",
    "&": "and",
    "+": "and",
}


@dataclass(frozen=True)
class NameKeys:
    """The comparison forms of one name.

    ``core`` has the words of the name without company form, in its own script;
    ``key`` is ``core`` without spaces (for exact comparison and blocking);
    ``latin`` is the name romanised (pinyin for Chinese), its words sorted, so that
    ``王伟``, ``Wang Wei`` and ``Wei Wang`` agree.
    """

    core: str | None
    key: str | None
    latin: str | None


EMPTY = NameKeys(None, None, None)


def fold_name(name: str | None) -> str:
    """Folded, simplified, abbreviations spelled out (``Acme Intl. Mfg.`` ->
    ``acme international manufacturing``)."""
    text = fold(to_simplified(name or ""), keep="&+")
    words = [NAME_ABBREVIATIONS.get(w, w) for w in text.replace("&", " & ").split()]
    return " ".join(words)


def strip_company_form(folded: str) -> str:
    """``华盛机械制造有限责任公司`` -> ``华盛机械制造``; ``muller gmbh and co kg`` ->
    ``muller``. A name that is nothing but a form is kept as it is."""
    text = folded
    while True:
        before = text
        for form in CHINESE_COMPANY_FORMS:
            if text.endswith(form):
                if len(text) > len(form):
                    text = text[: -len(form)].rstrip()
                break
        words = text.split()
        while len(words) > 1 and words[-1] in LATIN_COMPANY_FORMS:
            words.pop()
        text = " ".join(words)
        if text == before:
            return text


def strip_place_prefix(core: str, places: tuple[str | None, ...]) -> str:
    """A Chinese company name without a leading place name of its own address
    (``上海华盛机械制造`` in 上海市 -> ``华盛机械制造``): registered names carry it, clerks
    often leave it out."""
    if not core or not is_han(core[0]):
        return core
    for place in places:
        if not place:
            continue
        place = to_simplified(place)
        for prefix in sorted({place, place.removesuffix("市"), place.removesuffix("省")}, key=len)[
            ::-1
        ]:
            if len(prefix) >= 2 and core.startswith(prefix) and len(core) > len(prefix) + 1:
                return core[len(prefix) :]
    return core


def name_keys(
    name: str | None,
    *,
    kind: str | None = None,
    city: str | None = None,
    region: str | None = None,
) -> NameKeys:
    """The comparison keys of a customer name; ``city`` and ``region`` are the record's
    own, used to drop a leading place from Chinese company names."""
    folded = fold_name(name)
    if not folded:
        return EMPTY
    core = strip_company_form(folded)
    person = kind == "person" or (
        kind is None and core == folded and split_person_name(core) is not None
    )
    if has_han(core) and not person:
        core = strip_place_prefix(core, (city, region))
    return NameKeys(core, core.replace(" ", ""), _latin(core, person)[:MAX_LENGTH] or None)


def _latin(core: str, person: bool) -> str:
    whole = split_person_name(core) if person else None
    if whole:  # 周 建华 and 周建华 alike: surname, given name
        return " ".join(sorted("".join(pinyin_syllables(part)) for part in whole))
    words: list[str] = []
    for word in core.split():
        if not has_han(word):
            words.append(word)
            continue
        split = split_person_name(word) if person else None
        if split:  # 欧阳秀英 -> "ouyang xiuying", to meet "Xiuying Ouyang"
            words.extend("".join(pinyin_syllables(part)) for part in split)
        else:
            words.append("".join(pinyin_syllables(word)))
    return " ".join(sorted(words))


def person_part(name: str | None) -> str | None:
    """A given name or surname alone: folded, simplified, romanised when Chinese."""
    folded = fold_name(name)
    if not folded:
        return None
    return " ".join("".join(pinyin_syllables(w)) if has_han(w) else w for w in folded.split())
