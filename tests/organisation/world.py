"""The organisation world on the persona world (``tests/personas.py``): the community's Party
committee and the area's Party branch with three members, the courtyard commissioner post type
(from the migration), and one household in each courtyard.

    测试社区党委 (t-party)  ─  测试小区党支部 (t-branch): 张书记 (secretary), 党员甲, 党员乙
    A院 A1号 101室: household t-a-h1-101-01      B院 B1号 101室: household t-b-h1-101-01
"""

from __future__ import annotations

from dataclasses import dataclass

from sanan.accounts.models import User
from sanan.organisation import services
from sanan.organisation.models import Organisation, OrganisationKind, Position, PostType
from sanan.registry.models import Household
from sanan.registry.services import household_create
from tests.factories import UserFactory
from tests.workorders.world import OrderWorld


@dataclass
class OrgWorld:
    wo: OrderWorld
    committee: User  # p-committee: organisation.manage over the area
    party: Organisation
    branch: Organisation
    secretary: User
    member_a: User
    member_b: User
    commissioner_type: PostType
    household_a: Household
    household_b: Household

    @property
    def world(self):  # type: ignore[no-untyped-def]
        return self.wo.world

    def fresh(self, user: User) -> User:
        return User.objects.get(pk=user.pk)


def build_org_world(wo: OrderWorld) -> OrgWorld:
    world = wo.world
    party = services.organisation_ensure(
        actor="tests",
        kind=OrganisationKind.PARTY_COMMITTEE,
        code="t-party",
        name="测试社区党委",
        place=world.community,
    )
    branch = services.organisation_ensure(
        actor="tests",
        kind=OrganisationKind.PARTY_BRANCH,
        code="t-branch",
        name="测试小区党支部",
        place=world.area,
        parent=party,
    )
    secretary = UserFactory(display_name="张书记")
    member_a = UserFactory(display_name="党员甲")
    member_b = UserFactory(display_name="党员乙")
    services.membership_add(
        actor="tests", organisation=branch, user=secretary, position=Position.SECRETARY
    )
    for m in (member_a, member_b):
        services.membership_add(actor="tests", organisation=branch, user=m)
    return OrgWorld(
        wo=wo,
        committee=User.objects.get(username="p-committee"),
        party=party,
        branch=branch,
        secretary=secretary,
        member_a=member_a,
        member_b=member_b,
        commissioner_type=PostType.objects.get(code="courtyard_commissioner"),
        household_a=household_create(actor="tests", place=world.unit_a),
        household_b=household_create(actor="tests", place=world.unit_b),
    )
