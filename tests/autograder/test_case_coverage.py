"""With a secret seed, any seed may be drawn: the hidden cases of a check whose cases judge parts
of a result (a layer's out, dx and gradients), or that names the kinds of case it needs (pooling
windows that overlap and windows that do not), must hold every kind its visible test holds,
whatever the seed."""

from __future__ import annotations

import pytest

from autograder.checks import load_all

COVERING = {name: check for name, check in sorted(load_all().items())
            if check.cover or any(case.part is not None for case in check.fixed)}


def test_the_checks_of_parts_are_found():
    assert {"check_relu", "check_conv", "check_softmax_cross_entropy",
            "check_avg_pool_backward", "check_max_pool_backward"} <= set(COVERING)


@pytest.mark.parametrize("name", sorted(COVERING))
def test_every_seed_draws_every_kind_of_case(name):
    check = COVERING[name]
    kind = check.cover or (lambda case: case.part)
    wanted = {kind(case) for case in check.fixed}
    for seed in range(200):
        cases = check.cases(seed)
        assert len(cases) == check.n_random
        assert wanted <= {kind(case) for case in cases}, (seed, wanted)
