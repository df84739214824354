"""The customer page's installed-base, service and campaign panels: their data (from the
same service functions as the API) and their words in English and Chinese."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Engine

from crm_core.api.service.campaigns import campaigns_of
from crm_core.api.service.installed_base import assets_of
from crm_core.api.service.service_history import service_requests_of
from schemas.campaign_settings import CampaignSettings

#: service requests shown on the page (the newest; the API gives all)
SHOWN_REQUESTS = 20


def aftersales_data(
    store: Engine, golden_id: str, day: date, settings: CampaignSettings
) -> dict[str, Any]:
    """The three panels' data for the template ``customer_aftersales.html``."""
    service = service_requests_of(store, golden_id, as_of=day)
    return {
        "assets": assets_of(store, golden_id, as_of=day),
        "service": service,
        "service_shown": service.items[:SHOWN_REQUESTS],
        "campaigns": campaigns_of(store, golden_id, settings),
    }


MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "section.assets": "Installed base",
        "section.service": "Service history",
        "section.campaigns": "Campaigns",
        "assets.summary": "{in_service} in service · {warranty} warranties and {contracts} "
        "service contracts end within {days} days · {renewals} renewal opportunities",
        "assets.none": "No serial-numbered products on record.",
        "assets.renewal": "Offer a service contract",
        "col.serial": "Serial number",
        "col.shipped": "Shipped",
        "col.installed": "Installed",
        "col.site": "Install site",
        "col.warranty": "Warranty",
        "col.contract": "Service contract",
        "col.part_of": "Part of",
        "col.ticket": "Ticket",
        "col.opened": "Opened",
        "col.priority": "Priority",
        "col.subject": "Subject",
        "col.sla": "SLA",
        "col.satisfaction": "Satisfaction",
        "col.campaign": "Campaign",
        "col.channel": "Channel",
        "col.touched": "Touched",
        "col.response": "Response",
        "col.attributed_orders": "Attributed orders",
        "col.attributed_revenue": "Attributed revenue",
        "service.summary": "{open} open · {breaches} SLA breaches ({open_breaches} open) · "
        "average satisfaction {average}",
        "service.trend": "Satisfaction trend",
        "service.none": "No service requests on record.",
        "service.more": "The newest {shown} of {total}.",
        "service.breached": "breached",
        "service.met": "met",
        "campaigns.none": "No campaign reached this customer.",
        "campaigns.rule": "Orders attributed by {rule} within {days} days before the order.",
        "churn.service": "Service risk: {reasons}",
        "warranty.in_warranty": "in warranty",
        "warranty.expiring": "expiring",
        "warranty.expired": "expired",
        "warranty.unknown": "unknown",
        "contract.active": "active",
        "contract.expiring": "expiring",
        "contract.expired": "expired",
        "contract.none": "none",
        "trend.rising": "rising",
        "trend.steady": "steady",
        "trend.falling": "falling",
        "trend.unknown": "not enough answers",
        "attribution.last_touch": "last touch",
        "attribution.first_touch": "first touch",
        "asset.in_service": "in service",
        "asset.returned": "returned",
        "asset.scrapped": "scrapped",
        "priority.urgent": "urgent",
        "priority.high": "high",
        "priority.normal": "normal",
        "priority.low": "low",
        "ticket.new": "new",
        "ticket.open": "open",
        "ticket.pending": "waiting",
        "ticket.resolved": "resolved",
        "ticket.closed": "closed",
        "response.sent": "sent",
        "response.opened": "opened",
        "response.clicked": "clicked",
        "response.responded": "responded",
        "response.attended": "attended",
        "risk.open_service_requests": "several open service requests",
        "risk.satisfaction_falling": "satisfaction falling",
    },
    "zh-CN": {
        "section.assets": "已装设备",
        "section.service": "服务记录",
        "section.campaigns": "营销活动",
        "assets.summary": "在用 {in_service} 台 · {days} 天内到期：保修 {warranty} 项、"
        "服务合同 {contracts} 项 · 续约机会 {renewals} 个",
        "assets.none": "没有带序列号的产品记录。",
        "assets.renewal": "建议推荐服务合同",
        "col.serial": "序列号",
        "col.shipped": "发货日期",
        "col.installed": "安装日期",
        "col.site": "安装地点",
        "col.warranty": "保修",
        "col.contract": "服务合同",
        "col.part_of": "所属设备",
        "col.ticket": "工单",
        "col.opened": "创建时间",
        "col.priority": "优先级",
        "col.subject": "主题",
        "col.sla": "服务时限",
        "col.satisfaction": "满意度",
        "col.campaign": "活动",
        "col.channel": "渠道",
        "col.touched": "触达时间",
        "col.response": "反馈",
        "col.attributed_orders": "归因订单",
        "col.attributed_revenue": "归因收入",
        "service.summary": "未结 {open} 个 · 超时 {breaches} 个（未结 {open_breaches} 个）· "
        "平均满意度 {average}",
        "service.trend": "满意度趋势",
        "service.none": "没有服务工单记录。",
        "service.more": "显示最新 {shown} 个，共 {total} 个。",
        "service.breached": "已超时",
        "service.met": "达标",
        "campaigns.none": "没有营销活动触达该客户。",
        "campaigns.rule": "订单按{rule}归因（下单前 {days} 天内）。",
        "churn.service": "服务风险：{reasons}",
        "warranty.in_warranty": "保修期内",
        "warranty.expiring": "即将到期",
        "warranty.expired": "已过期",
        "warranty.unknown": "未知",
        "contract.active": "有效",
        "contract.expiring": "即将到期",
        "contract.expired": "已过期",
        "contract.none": "无",
        "trend.rising": "上升",
        "trend.steady": "平稳",
        "trend.falling": "下降",
        "trend.unknown": "评价不足",
        "attribution.last_touch": "最后一次触达",
        "attribution.first_touch": "首次触达",
        "asset.in_service": "在用",
        "asset.returned": "已退回",
        "asset.scrapped": "已报废",
        "priority.urgent": "紧急",
        "priority.high": "高",
        "priority.normal": "普通",
        "priority.low": "低",
        "ticket.new": "新建",
        "ticket.open": "处理中",
        "ticket.pending": "等待中",
        "ticket.resolved": "已解决",
        "ticket.closed": "已关闭",
        "response.sent": "已发送",
        "response.opened": "已打开",
        "response.clicked": "已点击",
        "response.responded": "已回复",
        "response.attended": "已参加",
        "risk.open_service_requests": "多个未结服务工单",
        "risk.satisfaction_falling": "满意度下降",
    },
}
