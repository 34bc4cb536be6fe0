from django import template

from sanan.audit import labels

register = template.Library()


@register.filter
def action_label(code: str) -> str:
    return labels.action_label(code)


@register.filter
def actor_label(label: str) -> str:
    return labels.actor_label(label)
