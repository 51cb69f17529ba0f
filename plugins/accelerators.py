"""Catalog of AI accelerators: datasheet figures, each with its source (no hooks).

The ``payload`` plugin looks accelerators up here by name (``[payload] accelerator =
"H100-SXM"``); a scenario may also describe its own in ``[payload.custom_accelerator]``
(`Accelerator` fields, same units). Every figure is per accelerator:

``tdp_w``
    Maximum board power [W] (NVIDIA: "max thermal design power"); the power of the
    ``training`` state at ``training_power_fraction = 1``.
``idle_w``
    Power with nothing running [W]. No vendor publishes it: the catalog uses 10 % of TDP,
    an assumption of the order of the idle draw commonly reported by ``nvidia-smi`` on
    H100/H200 SXM boards (60-90 W); set ``[payload] idle_power_fraction`` to override.
``peak_bf16_flops``
    Dense (no 2:4 sparsity) bf16 tensor peak [FLOP/s]. NVIDIA's datasheets quote the
    sparse figure "with sparsity"; the dense one is half of it.
``host_overhead_fraction``
    Power of everything else in the server (CPUs, memory, NICs, NVSwitch, storage, fans,
    power conversion) as a fraction of the accelerators' power [1], from the vendor's
    8-accelerator system: ``(system max power / 8 - TDP) / TDP``. It includes fans, which a
    space design replaces by pumps, so it is an upper bound for orbit.
``server_mass_kg``
    Mass of the terrestrial server per accelerator [kg] (system mass / 8): chassis, power
    supplies and fans included, radiation shielding not. A first estimate for a
    space-rated server, which drops the chassis and fans but adds structure and shielding.

Limits: peak figures are the vendor's at the stated board power; sustained clocks under a
power cap are the ``payload`` plugin's business. Nothing here depends on orbitwin.
Validated in ``tests/test_accelerators.py`` (figures present, sources named, dense =
sparse / 2 where the datasheet gives the sparse figure).
"""

from __future__ import annotations

import difflib

import attrs

from twin_core.validators import SpecValueError, in_range, positive


@attrs.frozen
class Accelerator:
    """One accelerator's figures (module docstring for each field's meaning and units).

    Attributes:
        name: catalog key, as written in a scenario.
        tdp_w: maximum board power [W].
        idle_w: idle power [W], < tdp_w.
        peak_bf16_flops: dense bf16 peak [FLOP/s].
        server_mass_kg: terrestrial server mass per accelerator [kg].
        host_overhead_fraction: host power / accelerator power [1].
        source: where each figure comes from, estimates marked as such.
    """

    name: str
    tdp_w: float = attrs.field(validator=positive)
    idle_w: float = attrs.field(validator=in_range(0.0, 1e7))
    peak_bf16_flops: float = attrs.field(validator=positive)
    server_mass_kg: float = attrs.field(validator=positive)
    host_overhead_fraction: float = attrs.field(default=0.0, validator=in_range(0.0, 10.0))
    source: str = "user-defined in the scenario"

    def __attrs_post_init__(self) -> None:
        if not self.name:
            raise SpecValueError("name", self.name, "a non-empty name")
        if self.idle_w >= self.tdp_w:
            raise SpecValueError("idle_w", self.idle_w, f"< tdp_w = {self.tdp_w:g}")


#: DGX H100 / H200 User Guide (NVIDIA, 2023): 8 GPUs, 10.2 kW max, 130.45 kg (287.6 lb) max.
_DGX_H100 = (10_200.0, 130.45)
#: DGX B200 User Guide (NVIDIA, 2024): 8 GPUs, 14.3 kW max, 142.4 kg (313.9 lb) max.
_DGX_B200 = (14_300.0, 142.4)

CATALOG: dict[str, Accelerator] = {
    a.name: a
    for a in (
        Accelerator(
            name="H100-SXM",
            tdp_w=700.0,
            idle_w=70.0,
            peak_bf16_flops=989.4e12,
            server_mass_kg=_DGX_H100[1] / 8,
            host_overhead_fraction=(_DGX_H100[0] / 8 - 700.0) / 700.0,
            source="NVIDIA H100 Tensor Core GPU datasheet (2023): SXM5, up to 700 W, BF16 tensor "
                   "1,979 TFLOP/s with sparsity -> 989.4 dense (H100 whitepaper, Table 1); NVIDIA DGX "
                   "H100/H200 User Guide: 8 GPUs, 10.2 kW max, 130.45 kg; idle 10 % of TDP (estimate)",
        ),
        Accelerator(
            name="B200",
            tdp_w=1000.0,
            idle_w=100.0,
            peak_bf16_flops=2.25e15,
            server_mass_kg=_DGX_B200[1] / 8,
            host_overhead_fraction=(_DGX_B200[0] / 8 - 1000.0) / 1000.0,
            source="NVIDIA HGX B200 specifications (2024): 1,000 W per GPU, FP16/BF16 tensor 36 PFLOP/s "
                   "per 8 GPUs with sparsity -> 2.25 PFLOP/s dense per GPU (the 1,200 W GB200 part is "
                   "rated 2.5); NVIDIA DGX B200 User Guide: 8 GPUs, 14.3 kW max, 142.4 kg; idle 10 % of "
                   "TDP (estimate)",
        ),
        Accelerator(
            name="TPU-v6e",
            tdp_w=400.0,
            idle_w=40.0,
            peak_bf16_flops=918e12,
            server_mass_kg=10.0,
            host_overhead_fraction=0.5,
            source="Google Cloud TPU v6e (Trillium) documentation: 918 TFLOP/s bf16 peak per chip, 8 "
                   "chips per host. Power NOT published; ESTIMATE 400 W (+/-50 %): TPU v4's 275 TFLOP/s "
                   "at 192 W max (Jouppi et al., ISCA 2023; Cloud TPU v4 docs) is 1.43 TFLOP/s/W; with "
                   "Google's stated 67 % better energy efficiency of Trillium (over v5e, assumed to hold "
                   "over v4) 918 / (1.43 x 1.67) = 384 W, rounded up. Host overhead 0.5 and 10 kg per "
                   "chip (an 80 kg 8-chip air-cooled host): ESTIMATES, not published; idle 10 % of TDP",
        ),
    )
}


def lookup(name: str) -> Accelerator:
    """The catalog entry ``name``; a `SpecValueError` on key ``accelerator`` listing the
    catalog (with the closest spelling) otherwise."""
    try:
        return CATALOG[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(CATALOG), n=1, cutoff=0.5)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise SpecValueError("accelerator", name, "one of " + ", ".join(repr(k) for k in CATALOG)
                             + " or the name of [payload.custom_accelerator]" + hint) from None


__all__ = ["CATALOG", "Accelerator", "lookup"]
