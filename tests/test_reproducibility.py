"""seed_everything, the numerics signature, and the relaxed comparison of cpu-dependent cells."""

import os
import subprocess
import sys
from types import SimpleNamespace

import nbformat
import numpy as np
import pytest
import torch

from cpu_dependent import CPU_DEPENDENT, relax_cpu_dependent
from nlpcourse.reproducibility import numerics_signature, seed_everything


def test_seed_everything_repeats_draws_and_checks_arguments():
    first = (seed_everything(3, threads=1).random(3), torch.rand(3))
    second = (seed_everything(3, threads=1).random(3), torch.rand(3))
    np.testing.assert_array_equal(first[0], second[0])
    assert torch.equal(first[1], second[1])
    assert torch.get_num_threads() == 1
    with pytest.raises((TypeError, ValueError), match="seed"):
        seed_everything(-1)
    with pytest.raises((TypeError, ValueError), match="threads"):
        seed_everything(0, threads=0)


def _signature_in_subprocess(capability: str | None = None, mkl: str | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("ATEN_CPU_CAPABILITY", "MKL_CBWR")}
    env.update({"ATEN_CPU_CAPABILITY": capability} if capability else {})
    env.update({"MKL_CBWR": mkl} if mkl else {})
    code = "from nlpcourse.reproducibility import numerics_signature; print(numerics_signature())"
    return subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True,
                          text=True).stdout.strip()


def test_signature_names_versions_and_the_kernels_torch_uses():
    here = numerics_signature()
    assert f"torch {torch.__version__}" in here and f"numpy {np.__version__}" in here
    assert torch.backends.cpu.get_cpu_capability() in here
    scalar = _signature_in_subprocess("default")  # torch's non-vectorised kernels
    assert "DEFAULT" in scalar
    assert (scalar == here) == (torch.backends.cpu.get_cpu_capability() == "DEFAULT")


def test_signature_names_a_forced_mkl_code_path():
    plain, forced = _signature_in_subprocess(), _signature_in_subprocess(mkl="COMPATIBLE")
    assert "MKL_CBWR" not in plain and "MKL_CBWR=COMPATIBLE" in forced and forced != plain


def _item(tags, made_on):
    notebook = SimpleNamespace(nb=SimpleNamespace(metadata={"nlpcourse": {"outputs_made_on": made_on}}),
                               name="NN_demo.ipynb")
    return SimpleNamespace(cell=nbformat.from_dict({"metadata": {"tags": tags}}), parent=notebook, options={"check": True},
                           nodeid=f"demo::{tags}")


def test_cpu_dependent_cells_are_compared_only_on_the_machine_that_made_them():
    tagged, plain = _item([CPU_DEPENDENT], "cpu A"), _item(["parameters"], "cpu A")
    assert relax_cpu_dependent([tagged, plain], here="cpu A") == []
    assert tagged.options["check"] and plain.options["check"]
    assert relax_cpu_dependent([tagged, plain], here="cpu B") == [tagged]
    assert tagged.options["check"] is False and plain.options["check"] is True
    unsigned = _item([CPU_DEPENDENT], None)  # executed before signatures were recorded: never exact
    assert relax_cpu_dependent([unsigned], here="cpu A") == [unsigned]


def test_kernel_variant_environment_replaces_inherited_kernel_choices():
    from nlpcourse.reproducibility import KERNEL_VARIANTS, kernel_variant_environment

    base = {"PATH": "/bin", "ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "AVX2"}
    assert kernel_variant_environment("native", base) == {"PATH": "/bin", "PYTHONHASHSEED": "0"}
    assert kernel_variant_environment("mkl-compatible", base)["MKL_CBWR"] == "COMPATIBLE"
    assert "MKL_CBWR" not in kernel_variant_environment("aten-avx2", base)
    assert set(KERNEL_VARIANTS) >= {"native", "aten-avx2", "mkl-compatible", "mkl-avx2"}
    with pytest.raises(ValueError, match="variant must be one of"):
        kernel_variant_environment("avx512", base)
