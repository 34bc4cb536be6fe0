"""factory_boy factories that write through Sanan's services, never through ``.save()``.

``UserFactory(roles=[(Role.COMMISSIONER, courtyard)])`` creates a user with ``user_create`` and
grants each role with ``role_grant`` (pass ``(role, place, organisation)`` for handlers).
"""

from __future__ import annotations

from typing import Any

import factory

from sanan.accounts.models import User
from sanan.accounts.services import role_grant, user_create

PASSWORD = "Quiet-lanes-of-Hongqi-2026"
"""A password every validator accepts; all test users share it."""


class UserFactory(factory.Factory):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user-{n:04d}")
    display_name = factory.Sequence(lambda n: f"测试用户{n}")
    # 136 is not used by the demo (138 0833 xxxx) nor the personas (139 0000 xxxx).
    phone = factory.Sequence(lambda n: f"1361234{n:04d}")
    password = PASSWORD

    @classmethod
    def _create(cls, model_class: type[User], *args: Any, **kwargs: Any) -> User:
        roles = kwargs.pop("roles", ())
        user = user_create(actor="tests", **kwargs)
        for grant in roles:
            role, place, *rest = grant
            role_grant(
                actor="tests",
                user=user,
                role=role,
                place=place,
                organisation=rest[0] if rest else None,
            )
        return User.objects.get(pk=user.pk)  # fresh: no cached permissions
