"""The PyPR modules show only their API as public names (tab completion,
help(), dir()), and the PyPR face's exception is documented."""
import pytest

import gaussmix.gmm as gmm
import gaussmix.kmeans as kmeans
import gaussmix.stattest as stattest


@pytest.mark.parametrize("module", [kmeans, stattest])
def test_only_the_api_is_public(module):
    public = sorted(n for n in dir(module) if not n.startswith("_") and n != "annotations")  # the __future__ import
    assert public == sorted(module.__all__)


def test_cov_problem_is_documented():
    assert "not positive definite" in gmm.Cov_problem.__doc__
    assert "reg_covar" in gmm.Cov_problem.__doc__ and "diag_add" in gmm.Cov_problem.__doc__
