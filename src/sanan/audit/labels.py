"""People-readable names for audit action codes (the codes themselves stay stable)."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

ACTION_LABELS: dict[str, Promise] = {
    "place.created": _("Place created"),
    "place.updated": _("Place changed"),
    "user.created": _("Account created"),
    "user.phone_changed": _("Mobile number changed"),
    "auth.signed_in": _("Signed in"),
    "auth.sign_in_failed": _("Sign-in failed"),
    "auth.locked_out": _("Sign-in paused after repeated failures"),
    "auth.signed_out": _("Signed out"),
    "auth.token_issued": _("API token issued"),
    "auth.totp_enrolled": _("Two-step sign-in turned on"),
    "auth.totp_disabled": _("Two-step sign-in turned off"),
    "auth.totp_failed": _("Wrong two-step sign-in code"),
    "auth.recovery_code_used": _("Recovery code used"),
    "auth.password_reset_requested": _("Password reset requested"),
    "auth.password_reset_link_issued": _("Password reset link issued by an administrator"),
    "auth.password_reset_done": _("Password changed with a reset link"),
    "role.granted": _("Role given"),
    "role.revoked": _("Role taken away"),
    "organisation.created": _("Organisation created"),
    "membership.added": _("Member added"),
    "pii.revealed": _("Personal data viewed"),
    "pii.rotated": _("Personal data re-encrypted (key rotation)"),
    "household.created": _("Household created"),
    "household.head_set": _("Head of household changed"),
    "resident.registered": _("Resident registered"),
    "resident.updated": _("Resident's record changed"),
    "resident.moved_in": _("Resident moved in"),
    "resident.moved_out": _("Resident moved out"),
    "resident.household_changed": _("Resident changed household"),
    "resident.tag_added": _("Care tag added"),
    "resident.tag_removed": _("Care tag removed"),
    "care_tag.created": _("Care tag defined"),
    "house.profile_set": _("House details changed"),
    "rental.created": _("Rental recorded"),
    "rental.updated": _("Rental changed"),
    "rental.inspected": _("Rental inspected"),
    "vehicle.registered": _("Vehicle registered"),
    "vehicle.updated": _("Vehicle changed"),
    "vehicle.removed": _("Vehicle removed"),
    "registry.imported": _("Registry imported from a file"),
    "registry.exported": _("Registry exported (numbers masked)"),
    "audit.pruned": _("Old audit records removed (retention)"),
    "database.restored": _("Database restored from a backup"),
    "membership.ended": _("Membership ended"),
    "term.created": _("Term of office recorded"),
    "post_type.created": _("Post type defined"),
    "post_type.updated": _("Post type renamed"),
    "post_type.retired": _("Post type retired"),
    "post_type.restored": _("Post type back in use"),
    "member_card.updated": _("Member card changed"),
    "post.assigned": _("Post assigned"),
    "post.ended": _("Post ended"),
    "member_card.created": _("Member card issued"),
    "commitment.published": _("Commitment published"),
    "commitment.fulfilled": _("Commitment fulfilled"),
    "commitment.commented": _("Comment on a commitment"),
    "visit.recorded": _("Household visit recorded"),
    "visit.problem_ordered": _("Problem from a visit turned into a work order"),
    "butler.appointed": _("Red Butler appointed"),
    "butler.ended": _("Red Butler service ended"),
    "butler.activity_recorded": _("Red Butler activity recorded"),
    "event.created": _("Event created"),
    "event.signed_up": _("Signed up for an event"),
    "event.checked_in": _("Signed in at an event"),
    "routing.rule_created": _("Routing rule added"),
    "routing.rule_retired": _("Routing rule retired"),
    "work_order.followed": _("Started following a work order"),
    "work_order.unfollowed": _("Stopped following a work order"),
    "work_order.sla_escalated": _("Work order escalated (deadline)"),
    "webhook_endpoint.created": _("Webhook endpoint added"),
    "webhook_endpoint.updated": _("Webhook endpoint changed"),
    "webhook_endpoint.secret_rotated": _("Webhook secret renewed"),
    "open311_key.created": _("Open311 key issued"),
    "open311_key.rotated": _("Open311 key renewed"),
    "open311_key.revoked": _("Open311 key revoked"),
    "open311_key.changed": _("Open311 key changed"),
    "open311.request_received": _("Request received through Open311"),
    "open311.update_received": _("Update received through Open311"),
    "call.recorded": _("Hotline call recorded"),
    "call.imported": _("Hotline calls imported"),
    "call.called_back": _("Caller called back"),
    "knowledge.created": _("Knowledge base answer added"),
    "knowledge.edited": _("Knowledge base answer changed"),
    "knowledge.retired": _("Knowledge base answer retired"),
    "knowledge.restored": _("Knowledge base answer restored"),
    "triage.model_trained": _("Category suggestion model trained"),
    "campaign.created": _("Campaign created"),
    "campaign.started": _("Campaign started"),
    "campaign.closed": _("Campaign closed"),
    "campaign.orders_linked": _("Orders in scope linked to a campaign"),
    "campaign.order_linked": _("Order linked to a campaign by hand"),
    "campaign.order_unlinked": _("Order unlinked from a campaign"),
    "campaign.task_added": _("Campaign task added"),
    "campaign.task_done": _("Campaign task done"),
    "campaign.report_exported": _("Campaign report exported"),
    "registration.created": _("Dual-reporting registration recorded"),
    "registration.ended": _("Dual-reporting registration ended"),
    "dual_task.published": _("Dual-reporting task published"),
    "dual_task.closed": _("Dual-reporting task closed"),
    "dual_task.cancelled": _("Dual-reporting task cancelled"),
    "dual_claim.claimed": _("Dual-reporting task claimed"),
    "dual_claim.withdrawn": _("Dual-reporting claim withdrawn"),
    "dual_claim.completed": _("Dual-reporting task reported done"),
    "dual_claim.rated": _("Dual-reporting work rated"),
    "dual.evaluation_exported": _("Dual-reporting evaluation exported"),
}

SYSTEM_ACTORS: dict[str, Promise] = {
    "system": _("System"),
    "demo": _("Demo data"),
}


def action_label(code: str) -> str:
    label = ACTION_LABELS.get(code)
    if label is not None:
        return str(label)
    prefix, _dot, step = code.partition(".")
    if prefix == "work_order":  # one code per action of the state machine
        from sanan.workorders.state import Action

        if step in Action.values:
            return _("Work order: %(action)s") % {"action": Action(step).label}
    return code


def actor_label(label: str) -> str:
    system = SYSTEM_ACTORS.get(label)
    return str(system) if system is not None else label
