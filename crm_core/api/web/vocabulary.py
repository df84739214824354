"""The hub's own codes in the reader's words: how a golden field or a link was decided
(survivorship rules, match rules, manual decisions), payment terms, hold reasons, the
fixed error texts of the service, and sources by their display names
(``sources.<name>.display_name`` in ``crm-hub.yaml``)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from crm_core.api.web.i18n import EN, MESSAGES, labeller
from schemas.settings import SourceConfig

#: The service's fixed error texts (pushback.submit, golden.stewardship) and their
#: Chinese; an error not listed here is shown as the service wrote it.
ERRORS_ZH: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), text)
    for pattern, text in (
        (r"^no customer '(?P<id>[^']+)'$", "没有客户 {id}"),
        (
            r"^customer (?P<id>\S+) was merged into (?P<into>\S+): change that one$",
            "客户 {id} 已合并到 {into}：请修改那个客户",
        ),
        (r"^the change changes no field$", "此变更没有修改任何字段"),
        (r"^\w+\.(?P<field>\w+) is a key and cannot be changed$", "{field} 是主键，不能修改"),
        (
            r"^customer (?P<id>\S+) has no \w+ record in (?P<targets>.+), so the change has "
            r"nowhere to go$",
            "客户 {id} 在 {targets} 中没有记录，变更无处可送",
        ),
        (
            r"^customer (?P<id>\S+) has no record in (?P<target>\S+), which books concessions$",
            "客户 {id} 在负责记账的 {target} 中没有记录",
        ),
        (r"^concession (?P<id>\S+) exists already$", "折让 {id} 已存在"),
        (
            r"^concessions\.amount: an amount concession needs amount and currency$",
            "按金额的折让需要金额和币种",
        ),
        (r"^concessions\.percent: a percent concession needs percent$", "按比例的折让需要百分比"),
        (
            r"^concessions\.amount: give amount or percent, not both$",
            "请填写金额或百分比，不要同时填写",
        ),
        (r"^concessions\.valid_to: ends before it starts$", "截止日期早于生效日期"),
        (r"^concessions: reason and approver must not be blank$", "原因和审批人不能为空"),
        (r"^(?P<field>\w+): the value is empty$", "{field}：值为空"),
        (
            r"^\w+\.(?P<field>\w+) is owned by (?P<owner>\S+); the CRM side may not change it "
            r"\(change it in \S+\)$",
            "{field} 归 {owner} 管理，CRM 不能修改（请在 {owner} 中修改）",
        ),
        (
            r"^\w+\.(?P<field>\w+): no system is declared its owner \(push_back\.ownership\), "
            r"so the CRM side may not change it$",
            "{field} 没有指定归属系统（push_back.ownership），CRM 不能修改",
        ),
        (r"^(?P<field>\w+) of (?P<id>\S+) is not pinned$", "{id} 的 {field} 没有被固定"),
        (r"^idempotency key .* (?:was used for another change|is taken).*$", "此表单已提交过"),
    )
)


def service_error(lang: str, message: str, source: Callable[[object], str] | None = None) -> str:
    """A fixed error text of the service in ``lang`` (field names in it translated,
    systems by their ``source`` names); English, or a text not known here, as it is."""
    if lang == EN:
        return message
    fields = labeller(lang)
    for pattern, text in ERRORS_ZH:
        found = pattern.match(message)
        if found:
            values = found.groupdict()
            if "field" in values:
                values["field"] = fields("field", values["field"])
            for name in ("owner", "target", "targets"):
                if name in values and source is not None:
                    values[name] = ", ".join(source(s) for s in values[name].split(", "))
            return text.format(**values)
    return message


def rule_label(lang: str) -> Callable[[object], str]:
    """``rule(value)``: how a field or a link was decided (``most_complete``,
    ``rule:same_tax_id``, ``model``, ``manual:merge``) in ``lang``."""
    label = labeller(lang)
    catalogue = MESSAGES[lang]

    def rule(value: object) -> str:
        if value is None or value == "":
            return ""
        text = str(value)
        known = label("rule", text)
        if known != text:
            return known
        return catalogue["rule.other"].format(name=text.removeprefix("rule:"))

    return rule


@dataclass(frozen=True)
class SourceNames:
    """Sources by their display names in one language; a name the config does not
    know (``crm``, ``push_back``) as it is."""

    sources: Mapping[str, SourceConfig]
    lang: str

    def __call__(self, name: object) -> str:
        if name is None:
            return ""
        source = self.sources.get(str(name))
        if source is None:
            return str(name)
        return source.display_names.get(self.lang) or source.display_name or str(name)
