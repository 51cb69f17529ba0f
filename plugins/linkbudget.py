"""Optical inter-satellite link physics: terminals, link budget, line of sight. Pure numpy,
no hooks; the crosslinks plugin turns these into per-link capacities.

Terminal (`OpticalTerminal`, the ``[crosslinks.terminal]`` table): both ends of a link
carry the same terminal (same aperture, power and receiver).

Link budget (free-space optical link in vacuum; Hemmati (ed.), Near-Earth Laser
Communications, CRC Press, 2009, ch. 1; Kaushal & Kaddoum, "Optical communication in
space: challenges and mitigation techniques", IEEE Commun. Surv. Tutor. 19(1), 57-96,
2017)::

    G        = (pi D / lambda)^2                         gain of a diffraction-limited circular
                                                         aperture of diameter D, each end
    eta      = 10^(-(pointing_loss_db + optics_loss_db) / 10)
    P_rx(R)  = P_tx eta min(1, G_t G_r (lambda / (4 pi R))^2)
             = P_tx eta min(1, pi^2 D^4 / (16 lambda^2 R^2))
    E_ph     = h c / lambda                              energy of one photon
    rate(R)  = P_rx(R) / (photons_per_bit E_ph)          photon-limited rate
    capacity(R) = min(channels x channel_rate_bps, rate(R))    for 0 <= R <= max_range
                = 0                                            for R > max_range

No efficiency factor is put into G: the aperture gain is the ideal one, and every
departure from it (Gaussian beam truncation and central obscuration, about 1-2 dB per end
for a well-designed telescope: Klein & Degnan, Appl. Opt. 13(9), 2134, 1974; optics
transmission; fibre coupling) belongs in ``optics_loss_db``. ``pointing_loss_db`` is the
mean loss from residual mispointing and jitter. Vacuum: no atmospheric loss,
scintillation or background light (the line of sight is kept above the atmosphere,
`line_of_sight`). The receiver is summarised by its sensitivity in photons per bit at the
target bit error rate (after coding), which folds in the detection scheme (coherent or
direct, preamplified or not).

Near field. The far-field product ``G_t G_r (lambda/(4 pi R))^2`` holds beyond the
Rayleigh distance ``D^2 / lambda`` (4.1 km for an 8 cm aperture at 1550 nm, 6.5 km for
10 cm; `rayleigh_distance_m`). It reaches 1 (all the transmitted light collected) at
``R = pi D^2 / (4 lambda)`` (3.2 km for 8 cm) and diverges as R -> 0; closer in, the
beam is about as wide as the aperture and at best all of it is collected, so the
geometric factor is capped at 1. That cap and the modem cap are both constants, so
capacity keeps the form the taichi kernel uses::

    capacity(R) = min(cap_bps, k_bps_m2 / R^2)  for R <= max_range_m,  0 beyond
    k_bps_m2    = P_tx eta pi^2 D^4 / (16 lambda^2 photons_per_bit E_ph)
    cap_bps     = min(channels x channel_rate_bps, P_tx eta / (photons_per_bit E_ph))

(`capacity_coefficients`). It does not increase with R anywhere. Formation-flying
clusters (hundreds of metres apart) are deep in the near field, where
this model says only "capped by the modem"; what spatial multiplexing could add there
(several beams through one aperture: Suncatcher paper below) appears only as a larger
``channels`` count.

Line of sight: a link is usable when the segment between the two satellites stays above
the grazing altitude (`GRAZING_ALTITUDE_KM`) over a spherical Earth of the WGS 84
equatorial radius: the closest point of the segment to the centre, parameter clamped to
[0, 1], is at least ``R_g`` from the centre (`line_of_sight`). For two satellites at radii
r1, r2 >= R_g this holds exactly when their distance is at most
``sqrt(r1^2 - R_g^2) + sqrt(r2^2 - R_g^2)`` (the two tangent segments;
`max_los_range_m`). The polar radius is 21 km smaller, so the sphere is conservative at
high latitude.

Validated in ``tests/test_linkbudget.py``: monotone capacity, the inverse-square regime by
hand, each preset against its published rate and range, line of sight against the closed
form for equal altitudes.
"""

from __future__ import annotations

import math
from typing import Any

import attrs
import numpy as np

from orbitwin_plugins.constants import R_EARTH_M
from twin_core.validators import SpecValueError, int_range, non_negative, positive

#: Planck constant [J s]. SI 2019 (exact).
PLANCK_J_S = 6.62607015e-34
#: Speed of light in vacuum [m s-1]. SI (exact).
C_M_S = 299792458.0

#: Lowest altitude [km] a crosslink's line of sight may pass. ASSUMPTION, 80 km: optical
#: crosslinks are planned to stay above the dense atmosphere; the mesopause, the top of
#: the mesosphere, lies at about 80-90 km (US Standard Atmosphere 1976). 80 km reproduces
#: the 5,016 km maximum laser-link range between two satellites at 550 km used by
#: Chaudhry & Yanikomeroglu, "Laser Intersatellite Links in a Starlink Constellation",
#: IEEE Veh. Technol. Mag. 16(2), 2021: 2 sqrt((R_E + 550 km)^2 - (R_E + 80 km)^2) =
#: 5,016.6 km (we could not read their text to confirm the 80 km itself). Tesat measured
#: the atmosphere's effect growing gradually as the grazing altitude falls (Opt. Eng.
#: 55(11) 111608, 2016), so there is no sharp edge; set it per scenario.
GRAZING_ALTITUDE_KM = 80.0
#: Radius [m] of the sphere a line of sight must stay outside, WGS 84 equatorial radius +
#: `GRAZING_ALTITUDE_KM`.
GRAZING_RADIUS_M = R_EARTH_M + GRAZING_ALTITUDE_KM * 1e3

#: Most WDM channels accepted: a bound against typos (the C band holds ~100 at 50 GHz).
MAX_CHANNELS = 10_000


@attrs.frozen
class OpticalTerminal:
    """One optical inter-satellite terminal; a link joins two identical ones. Table
    ``[crosslinks.custom_terminal]`` (module docstring for the budget; `PRESETS` for sourced
    values).

    Attributes:
        tx_power_w: optical power leaving the transmit telescope, all channels [W], > 0.
        aperture_m: telescope diameter, the same at both ends [m], > 0.
        wavelength_nm: carrier wavelength [nm], > 0 (1550 for C-band terminals).
        pointing_loss_db: mean loss from mispointing and jitter, both ends [dB], >= 0.
        optics_loss_db: transmit and receive optics, beam truncation and fibre coupling,
            both ends [dB], >= 0.
        photons_per_bit: receiver sensitivity, received photons per bit at the target bit
            error rate [1], > 0.
        channels: wavelength-division-multiplexed channels (or spatial modes), >= 1.
        channel_rate_bps: modem rate of one channel [bit/s], > 0; the link carries at
            most ``channels x channel_rate_bps``, each way.
        max_range_km: the terminal's stated maximum range [km], > 0; no link beyond it.
        power_w: electrical power of one terminal while linked [W], >= 0.
        standby_power_w: electrical power of one terminal while not linked [W], >= 0.
        mass_kg: mass of one terminal [kg], >= 0.
        acquisition_s: pointing, acquisition and tracking time from geometry available to
            link up [s], >= 0.
    """

    tx_power_w: float = attrs.field(validator=positive)
    aperture_m: float = attrs.field(validator=positive)
    wavelength_nm: float = attrs.field(validator=positive)
    pointing_loss_db: float = attrs.field(validator=non_negative)
    optics_loss_db: float = attrs.field(validator=non_negative)
    photons_per_bit: float = attrs.field(validator=positive)
    channels: int = attrs.field(validator=int_range(1, MAX_CHANNELS))
    channel_rate_bps: float = attrs.field(validator=positive)
    max_range_km: float = attrs.field(validator=positive)
    power_w: float = attrs.field(default=0.0, validator=non_negative)
    standby_power_w: float = attrs.field(default=0.0, validator=non_negative)
    mass_kg: float = attrs.field(default=0.0, validator=non_negative)
    acquisition_s: float = attrs.field(default=0.0, validator=non_negative)

    @property
    def wavelength_m(self) -> float:
        return self.wavelength_nm * 1e-9

    @property
    def max_range_m(self) -> float:
        return self.max_range_km * 1e3

    @property
    def modem_rate_bps(self) -> float:
        """``channels x channel_rate_bps`` [bit/s]: the most the modems carry, each way."""
        return self.channels * self.channel_rate_bps

    @property
    def loss_factor(self) -> float:
        """``eta = 10^(-(pointing + optics)/10)`` [1]."""
        return 10.0 ** (-(self.pointing_loss_db + self.optics_loss_db) / 10.0)

    @property
    def photon_energy_j(self) -> float:
        """``h c / lambda`` [J]."""
        return PLANCK_J_S * C_M_S / self.wavelength_m


# -- presets -----------------------------------------------------------------------------

#: Published terminals. Every figure carries its source; figures the sources do not give
#: are marked ASSUMPTION with the reason.
PRESETS: dict[str, OpticalTerminal] = {
    # Tesat SCOT80, the LEO constellation terminal (Telesat Lightspeed, 792 ordered by
    # MDA in 2024).
    "tesat_scot80": OpticalTerminal(
        # ASSUMPTION: optical power not published in the sources found; 2 W, a C-band
        # EDFA booster. With the other assumptions below the budget closes at 16 Gbit/s at
        # 8,000 km, a 2.1 dB margin over the 10 Gbit/s modem (tests/test_linkbudget.py).
        tx_power_w=2.0,
        # "Scalable Optical Terminal mit einem 80 Millimeter Teleskopdurchmesser" (DLR,
        # event.dlr.de, SCOT80 page, 2024).
        aperture_m=0.08,
        # ASSUMPTION: C band, the band of the SDA optical terminal standard with which
        # Tesat's ConLCT80 was shown interoperable (Behoerden Spiegel, 14 Sep 2021);
        # Tesat's earlier LCTs used 1064 nm.
        wavelength_nm=1550.0,
        # ASSUMPTION: a typical allocation for sub-microradian tracking.
        pointing_loss_db=2.0,
        # ASSUMPTION: truncation/obscuration ~1 dB per end (Klein & Degnan 1974) plus
        # optics transmission and coupling.
        optics_loss_db=4.0,
        # ASSUMPTION: a coherent receiver 6 dB from ideal homodyne BPSK, whose
        # BER = erfc(sqrt(2 n)) / 2 needs n = 9 photons/bit at BER 1e-9.
        photons_per_bit=40.0,
        channels=1,
        # "designed to transmit bidirectional data at 10 Gbps up to 8,000 km" (Via
        # Satellite, "MDA Selects Tesat Optical Terminals for Telesat Lightspeed", 28 May
        # 2024; DLR's page gives 2.5 to 100 Gbit/s across the product family).
        channel_rate_bps=10e9,
        max_range_km=8000.0,  # same source
        # ASSUMPTION: not published in the sources found; about half the 120 W of Tesat's
        # first-generation 35 kg LEO LCT (TerraSAR-X/NFIRE; recalled from Smutny et al.,
        # Proc. SPIE 7199, 2009, not re-checked here) at a third of its mass.
        power_w=60.0,
        # ASSUMPTION: electronics and thermal control kept on between links.
        standby_power_w=15.0,
        # "The mass is 11.9 kg per optical channel" (Via Satellite, 28 May 2024).
        mass_kg=11.9,
        # SDA OCT Standard v3.2.0 requires PAT acquisition <= 100 s (as summarised in
        # SDA's request for information on it); the bound, taken as the value, so
        # conservative: Bhattacharjee et al. (arXiv:2301.05285, 2023) put link setup
        # "in the order of seconds".
        acquisition_s=100.0,
    ),
    # Short-range, high-capacity link of Google's Project Suncatcher: Aguera y Arcas et
    # al., "Towards a future space-based, highly scalable AI infrastructure system
    # design", arXiv:2511.19468, Nov 2025, and the Google Research blog of 4 Nov 2025: a
    # bench demonstration reached 800 Gbit/s each way (1.6 Tbit/s total) with one
    # transceiver pair, using DWDM and spatial multiplexing with COTS transceivers;
    # satellites 100-200 m from their nearest neighbours in a cluster of 1 km radius.
    "suncatcher": OpticalTerminal(
        # ASSUMPTION: COTS DWDM transceivers launch about 1 mW (0 dBm) per channel,
        # unamplified: 8 x 1 mW.
        tx_power_w=8e-3,
        # The paper's example telescope: "~10 km [Fresnel distance] for a 10 cm
        # telescope"; ASSUMPTION that the flight terminal uses it.
        aperture_m=0.10,
        # ASSUMPTION: C-band DWDM (COTS data-centre optics).
        wavelength_nm=1550.0,
        # ASSUMPTION: short links with wide tolerance.
        pointing_loss_db=1.0,
        # ASSUMPTION: free space into single-mode fibre at the receiver dominates.
        optics_loss_db=5.0,
        # ASSUMPTION: an unamplified COTS receiver, about -20 dBm at 100 Gbit/s:
        # 1e-5 W / (1.28e-19 J x 1e11 bit/s) = 780 photons/bit, rounded up.
        photons_per_bit=1000.0,
        # ASSUMPTION on the split: 8 DWDM channels x 100 Gbit/s = the demonstrated
        # 800 Gbit/s each way; the paper gives the total only.
        channels=8,
        channel_rate_bps=100e9,
        # ASSUMPTION: the ~10 km the paper quotes as the near-field limit of a 10 cm
        # telescope; the cluster itself spans 2 km. With these numbers the budget would
        # hold 800 Gbit/s to 22 km.
        max_range_km=10.0,
        # ASSUMPTION: an 800G coherent pluggable draws ~25-30 W (OIF 800ZR class), plus
        # fine-pointing electronics.
        power_w=30.0,
        # ASSUMPTION: pointing loop and thermal control only.
        standby_power_w=5.0,
        # ASSUMPTION: 10 cm telescope, fine-steering mirror, no coarse gimbal (neighbours
        # keep their directions in the formation).
        mass_kg=3.0,
        # ASSUMPTION: relative positions known to metres at < 1 km; link setup "in the
        # order of seconds" (Bhattacharjee et al. 2023).
        acquisition_s=10.0,
    ),
}


def from_preset(name: str, **overrides: Any) -> OpticalTerminal:
    """A preset by name, with any fields replaced (validated like the table)."""
    if name not in PRESETS:
        raise SpecValueError("preset", name, "one of " + ", ".join(repr(k) for k in PRESETS))
    return attrs.evolve(PRESETS[name], **overrides)


# -- link budget --------------------------------------------------------------------------


def rayleigh_distance_m(term: OpticalTerminal) -> float:
    """``D^2 / lambda`` [m]: beyond it the far-field (inverse-square) budget holds."""
    return term.aperture_m**2 / term.wavelength_m


def geometric_coupling(term: OpticalTerminal, range_m: Any) -> np.ndarray:
    """``min(1, G_t G_r (lambda / (4 pi R))^2)`` [1]: the share of the transmitted power a
    lossless receive aperture collects (1 at and below ``pi D^2 / (4 lambda)``)."""
    r = np.asarray(range_m, dtype=np.float64)
    a = (math.pi**2 * term.aperture_m**4) / (16.0 * term.wavelength_m**2)
    with np.errstate(divide="ignore", over="ignore"):
        return np.minimum(1.0, a / np.square(r))


def received_power_w(term: OpticalTerminal, range_m: Any) -> np.ndarray:
    """``P_rx = P_tx eta min(1, G_t G_r (lambda/(4 pi R))^2)`` [W] (module docstring)."""
    return term.tx_power_w * term.loss_factor * geometric_coupling(term, range_m)


def capacity_coefficients(term: OpticalTerminal) -> tuple[float, float, float]:
    """``(k_bps_m2, cap_bps, max_range_m)`` such that the capacity at range R is
    ``min(cap_bps, k_bps_m2 / R^2)`` for ``R <= max_range_m`` and 0 beyond.

    ``cap_bps`` is the smaller of the modem rate and the near-field photon limit (all the
    transmitted power collected); ``k_bps_m2`` is the far-field photon-limited rate times
    R^2 (module docstring)."""
    per_w = 1.0 / (term.photons_per_bit * term.photon_energy_j)  # bit/s per received W
    p = term.tx_power_w * term.loss_factor
    k = p * per_w * (math.pi**2 * term.aperture_m**4) / (16.0 * term.wavelength_m**2)
    cap = min(term.modem_rate_bps, p * per_w)
    return k, cap, term.max_range_m


def capacity_bps(term: OpticalTerminal, range_m: Any) -> np.ndarray:
    """Capacity of one link, each way [bit/s], at ``range_m`` (any shape, >= 0); 0 beyond
    the terminal's maximum range (and for NaN)."""
    r = np.asarray(range_m, dtype=np.float64)
    if np.any(r < 0.0):
        raise ValueError("range_m must be >= 0")
    k, cap, r_max = capacity_coefficients(term)
    with np.errstate(divide="ignore", over="ignore"):
        c = np.minimum(cap, k / np.square(r))
    return np.where(r <= r_max, c, 0.0)


def range_at_capacity_m(term: OpticalTerminal, rate_bps: Any) -> np.ndarray:
    """The largest range [m] at which the link carries at least ``rate_bps``:
    ``min(max_range, sqrt(k / rate))`` for ``0 < rate <= cap``, the maximum range for
    ``rate <= 0``, and 0 where the rate exceeds ``cap_bps`` (no range carries it)."""
    q = np.asarray(rate_bps, dtype=np.float64)
    k, cap, r_max = capacity_coefficients(term)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.minimum(r_max, np.sqrt(k / np.maximum(q, 0.0)))
    return np.where(q > cap, 0.0, np.where(q <= 0.0, r_max, r))


# -- line of sight -------------------------------------------------------------------------


def line_of_sight(r1_m: Any, r2_m: Any, grazing_radius_m: float = GRAZING_RADIUS_M) -> np.ndarray:
    """Whether the segment from ``r1_m`` to ``r2_m`` (arrays (..., 3) [m], broadcast)
    stays outside the sphere of radius ``grazing_radius_m`` about the origin (touching
    counts as clear).

    Closest point ``r1 + t d``, ``d = r2 - r1``, ``t = clamp(-(r1 . d) / (d . d), 0, 1)``
    (``t = 0`` when the points coincide)."""
    a = np.asarray(r1_m, dtype=np.float64)
    b = np.asarray(r2_m, dtype=np.float64)
    d = b - a
    dd = np.einsum("...i,...i->...", d, d)
    ad = np.einsum("...i,...i->...", a, d)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(dd > 0.0, -ad / np.where(dd > 0.0, dd, 1.0), 0.0)
    t = np.clip(t, 0.0, 1.0)
    p = a + t[..., None] * d
    return np.einsum("...i,...i->...", p, p) >= grazing_radius_m**2


def max_los_range_m(r1_norm_m: Any, r2_norm_m: Any, grazing_radius_m: float = GRAZING_RADIUS_M) -> np.ndarray:
    """``sqrt(r1^2 - R_g^2) + sqrt(r2^2 - R_g^2)`` [m]: the farthest apart two satellites at
    radii r1, r2 can be and still see each other past the grazing sphere (the two tangent
    segments in line); 0 where either is inside the sphere."""
    r1 = np.asarray(r1_norm_m, dtype=np.float64)
    r2 = np.asarray(r2_norm_m, dtype=np.float64)
    g2 = grazing_radius_m**2
    out = np.sqrt(np.maximum(r1 * r1 - g2, 0.0)) + np.sqrt(np.maximum(r2 * r2 - g2, 0.0))
    return np.where((r1 < grazing_radius_m) | (r2 < grazing_radius_m), 0.0, out)
