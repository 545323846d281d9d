from roles import rules


def test_the_cast_holds_its_roles(csp, non_csp, support):
    assert rules.held_roles(csp.global_admin) == {"global_admin"}
    assert rules.held_roles(csp.user_admin) == {"user_management_admin"}
    assert rules.held_roles(non_csp.user_admin) == frozenset()
    assert rules.is_support_staff(support)
    assert support.groups.filter(name="Support").exists()
