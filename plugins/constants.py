"""Physical constants shared by the built-in plugins, SI units, each with its source.

Plugins import these rather than re-typing numbers, so one figure has one source.
"""

#: Earth's gravitational parameter [m^3 s^-2]. WGS 84 (NIMA TR8350.2, 3rd ed., 2000), also
#: the EGM96 value; Vallado, Fundamentals of Astrodynamics, 4th ed., Table D-3.
MU_EARTH_M3_S2 = 3.986004418e14

#: Earth's equatorial radius [m]. WGS 84 (NIMA TR8350.2).
R_EARTH_M = 6378137.0

#: Earth's second zonal harmonic J2 (unnormalised) [1]. EGM96 / Vallado Table D-3
#: (1.08262617385222e-3).
J2_EARTH = 1.08262617385222e-3

#: Astronomical unit [m]. IAU 2012 Resolution B2 (exact).
AU_M = 149597870700.0

#: Solar radius [m]. IAU 2015 Resolution B3 nominal solar radius.
R_SUN_M = 6.957e8

#: Total solar irradiance at 1 AU [W m^-2]. Kopp & Lean (2011), GRL 38, L01706:
#: 1360.8 +/- 0.5 W/m^2 at solar minimum.
SOLAR_CONSTANT_W_M2 = 1360.8

#: Stefan-Boltzmann constant [W m^-2 K^-4]. CODATA 2018 (exact in SI 2019).
STEFAN_BOLTZMANN_W_M2_K4 = 5.670374419e-8

#: Mean motion of the mean Sun, i.e. the nodal rate a sun-synchronous orbit needs
#: [rad s^-1]: 360 deg per tropical year of 365.2421897 days (Vallado 4th ed., sec. 11.4.1).
SUN_MEAN_MOTION_RAD_S = 2.0 * 3.141592653589793 / (365.2421897 * 86400.0)

#: Earth's rotation rate [rad s^-1]. WGS 84 (NIMA TR8350.2).
OMEGA_EARTH_RAD_S = 7.292115e-5

#: Seconds per day [s].
DAY_S = 86400.0
