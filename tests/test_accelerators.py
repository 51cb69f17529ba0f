"""The accelerator catalog: datasheet figures present, each with its source, derived figures
consistent with the vendor systems they come from, and clear errors for bad names and
custom entries."""

from __future__ import annotations

import pytest

from orbitwin_plugins.accelerators import CATALOG, Accelerator, lookup
from twin_core.validators import SpecValueError


def test_catalog_has_the_three_accelerators_with_sourced_figures() -> None:
    assert {"H100-SXM", "B200", "TPU-v6e"} <= set(CATALOG)
    for name, acc in CATALOG.items():
        assert acc.name == name
        assert acc.tdp_w > acc.idle_w > 0 and acc.peak_bf16_flops > 0 and acc.server_mass_kg > 0
        assert acc.host_overhead_fraction >= 0
        assert len(acc.source) > 80, f"{name}: every figure needs its source"


def test_datasheet_figures() -> None:
    h100, b200, tpu = CATALOG["H100-SXM"], CATALOG["B200"], CATALOG["TPU-v6e"]
    assert h100.tdp_w == 700.0 and b200.tdp_w == 1000.0
    # dense = half the "with sparsity" datasheet figure: 1,979 TFLOP/s and 4.5 PFLOP/s (0.1 %)
    assert h100.peak_bf16_flops == pytest.approx(1979e12 / 2, rel=1e-3)
    assert b200.peak_bf16_flops == pytest.approx(4.5e15 / 2, rel=1e-12)
    assert tpu.peak_bf16_flops == 918e12
    for acc, doc in ((h100, "H100"), (b200, "B200"), (tpu, "TPU v6e")):
        assert doc in acc.source
    # Google publishes no TPU v6e power: the catalog must say its figure is an estimate
    assert "NOT published" in tpu.source and "ESTIMATE" in tpu.source


def test_system_derived_figures_match_the_dgx_systems() -> None:
    """Per-accelerator mass and host overhead are the 8-GPU DGX figures divided by 8:
    DGX H100 10.2 kW / 130.45 kg, DGX B200 14.3 kW / 142.4 kg (exact arithmetic)."""
    h100, b200 = CATALOG["H100-SXM"], CATALOG["B200"]
    assert 8 * h100.server_mass_kg == pytest.approx(130.45)
    assert 8 * h100.tdp_w * (1 + h100.host_overhead_fraction) == pytest.approx(10_200.0)
    assert 8 * b200.server_mass_kg == pytest.approx(142.4)
    assert 8 * b200.tdp_w * (1 + b200.host_overhead_fraction) == pytest.approx(14_300.0)


def test_lookup_suggests_the_closest_name() -> None:
    assert lookup("B200") is CATALOG["B200"]
    with pytest.raises(SpecValueError, match=r"'accelerator'.*did you mean 'H100-SXM'"):
        lookup("H100")


@pytest.mark.parametrize("field,value,message", [
    ("tdp_w", -1.0, "> 0"), ("idle_w", 800.0, "< tdp_w"), ("peak_bf16_flops", 0.0, "> 0"), ("name", "", "non-empty"),
])
def test_custom_accelerator_is_validated(field: str, value: object, message: str) -> None:
    kwargs = dict(name="X", tdp_w=700.0, idle_w=70.0, peak_bf16_flops=1e15, server_mass_kg=10.0)
    kwargs[field] = value
    with pytest.raises(SpecValueError, match=message) as err:
        Accelerator(**kwargs)
    assert err.value.key == field
