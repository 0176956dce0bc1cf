"""A tile-grid world map: one square per country (ISO 3166-1 alpha-2), placed near its geographic position.

The centroids below are rounded approximations (degrees). `layout()` projects them onto a coarse grid and
moves each country to the nearest free tile, biggest regions first, so that neighbours stay roughly
neighbours and small, dense regions (Europe, the Caribbean, West Africa) spread out into readable tiles.
"""

from __future__ import annotations

from functools import cache

# code: (latitude, longitude)
CENTROIDS: dict[str, tuple[float, float]] = {
    # North America, Central America, Caribbean
    "CA": (60, -100), "US": (39, -98), "MX": (23, -102), "GL": (72, -40),
    "GT": (15.5, -90.3), "BZ": (17.2, -88.7), "SV": (13.8, -88.9), "HN": (14.8, -86.6), "NI": (12.9, -85),
    "CR": (10, -84), "PA": (8.5, -80), "CU": (21.5, -79), "BS": (24.5, -77.5), "JM": (18.1, -77.3),
    "HT": (19, -72.5), "DO": (18.8, -70.2), "PR": (18.2, -66.5), "KN": (17.3, -62.7), "AG": (17.1, -61.8),
    "DM": (15.4, -61.3), "LC": (13.9, -61), "VC": (13.2, -61.2), "BB": (13.2, -59.5), "GD": (12.1, -61.7),
    "TT": (10.6, -61.2),
    # South America
    "CO": (4, -73), "VE": (7, -66), "GY": (5, -59), "SR": (4, -56), "GF": (4, -53), "EC": (-1.5, -78.5),
    "PE": (-9.5, -75), "BR": (-10, -52), "BO": (-17, -65), "PY": (-23, -58), "CL": (-32, -71), "AR": (-35, -65),
    "UY": (-33, -56),
    # Europe
    "IS": (65, -18), "IE": (53, -8), "GB": (54, -2), "PT": (39.5, -8), "ES": (40, -4), "FR": (46.5, 2.5),
    "BE": (50.6, 4.6), "NL": (52.3, 5.5), "LU": (49.8, 6.1), "DE": (51, 10), "CH": (46.8, 8.2), "AT": (47.5, 14.5),
    "IT": (42.8, 12.5), "MT": (35.9, 14.4), "DK": (56, 10), "NO": (62, 10), "SE": (62, 16), "FI": (64, 26),
    "EE": (58.7, 25.5), "LV": (56.9, 24.6), "LT": (55.3, 23.9), "PL": (52, 19.5), "CZ": (49.8, 15.5),
    "SK": (48.7, 19.5), "HU": (47.2, 19.5), "SI": (46.1, 14.8), "HR": (45.2, 15.7), "BA": (44, 17.8),
    "RS": (44, 20.9), "ME": (42.8, 19.3), "AL": (41.1, 20), "MK": (41.6, 21.7), "XK": (42.6, 20.9),
    "GR": (39.5, 22), "BG": (42.7, 25.3), "RO": (45.9, 25), "MD": (47.2, 28.5), "UA": (49, 31.5),
    "BY": (53.7, 28), "RU": (60, 90), "CY": (35, 33.2), "AD": (42.5, 1.6), "MC": (43.7, 7.4),
    "LI": (47.2, 9.5), "SM": (43.9, 12.4), "VA": (41.9, 12.45),
    # Middle East, Caucasus, Central Asia
    "TR": (39, 35), "GE": (42.2, 43.5), "AM": (40.2, 45), "AZ": (40.3, 47.7), "SY": (35, 38.5),
    "LB": (33.9, 35.9), "IL": (31.4, 35), "PS": (31.9, 35.2), "JO": (31.2, 36.5), "IQ": (33, 43.7),
    "IR": (32.5, 54), "KW": (29.3, 47.6), "SA": (24, 45), "BH": (26, 50.5), "QA": (25.3, 51.2),
    "AE": (24, 54), "OM": (21, 57), "YE": (15.5, 48), "KZ": (48, 67), "UZ": (41.5, 64), "TM": (39, 59.5),
    "KG": (41.5, 74.5), "TJ": (38.8, 71), "AF": (33.9, 67.7), "PK": (30, 70),
    # South and East Asia
    "IN": (22, 79), "NP": (28.4, 84), "BT": (27.4, 90.4), "BD": (23.7, 90.3), "LK": (7.8, 80.7),
    "MV": (3.2, 73.2), "CN": (35, 103), "MN": (46.8, 103), "KP": (40.2, 127.5), "KR": (36.5, 127.8),
    "JP": (37, 138), "TW": (23.7, 121), "HK": (22.3, 114.2), "MO": (22.2, 113.5),
    # South-East Asia
    "MM": (21, 96), "TH": (15.5, 101), "LA": (18.5, 103.5), "VN": (16, 107.5), "KH": (12.5, 105),
    "MY": (4, 109.5), "SG": (1.35, 103.8), "BN": (4.5, 114.7), "ID": (-2.5, 118), "PH": (12.5, 122),
    "TL": (-8.8, 125.9),
    # Oceania
    "AU": (-25, 134), "NZ": (-41.5, 172.5), "PG": (-6.5, 145), "SB": (-9.6, 160), "VU": (-16, 167.5),
    "FJ": (-17.8, 178), "NC": (-21.3, 165.5), "WS": (-13.8, -172), "TO": (-21.2, -175.2), "KI": (1.9, -157.4),
    "FM": (6.9, 158.2), "MH": (7.1, 171.2), "PW": (7.5, 134.6), "NR": (-0.5, 166.9), "TV": (-8.5, 179.2),
    # North Africa
    "MA": (31.8, -7), "EH": (24.5, -13), "DZ": (28, 2.6), "TN": (34, 9.5), "LY": (27, 17), "EG": (26.5, 30),
    "SD": (15.5, 30), "SS": (7.5, 30),
    # West Africa
    "MR": (20.3, -10.3), "ML": (17.5, -4), "NE": (17.6, 9), "SN": (14.5, -14.5), "GM": (13.45, -15.4),
    "GW": (12, -15), "GN": (10.4, -10.9), "SL": (8.5, -11.8), "LR": (6.4, -9.4), "CI": (7.6, -5.5),
    "BF": (12.3, -1.6), "GH": (7.9, -1.2), "TG": (8.6, 0.9), "BJ": (9.3, 2.3), "NG": (9.1, 8.7),
    "CV": (16, -24),
    # Central, East and Southern Africa
    "TD": (15.5, 18.7), "CM": (5.7, 12.4), "CF": (6.6, 20.9), "GQ": (1.6, 10.3), "GA": (-0.8, 11.6),
    "CG": (-0.7, 15.2), "CD": (-2.9, 23.6), "ST": (0.2, 6.6), "ER": (15.2, 39.8), "DJ": (11.8, 42.6),
    "ET": (9.1, 40.5), "SO": (5.2, 46.2), "KE": (0.2, 37.9), "UG": (1.4, 32.3), "RW": (-1.9, 29.9),
    "BI": (-3.4, 29.9), "TZ": (-6.4, 34.9), "AO": (-12.3, 17.5), "ZM": (-13.1, 27.8), "MW": (-13.3, 34.3),
    "MZ": (-18.7, 35.5), "ZW": (-19, 29.2), "NA": (-22.9, 18.5), "BW": (-22.3, 24.7), "ZA": (-30.6, 22.9),
    "LS": (-29.6, 28.2), "SZ": (-26.5, 31.5), "MG": (-18.8, 46.9), "KM": (-11.9, 43.9), "MU": (-20.3, 57.6),
    "SC": (-4.7, 55.5), "RE": (-21.1, 55.5),
}  # fmt: skip

# Larger countries are placed first and keep their spot; the small ones flow around them.
_FIRST = ("RU", "CA", "US", "CN", "BR", "AU", "IN", "AR", "KZ", "DZ", "CD", "SA", "MX", "ID", "SD", "LY", "IR",
          "MN", "PE", "TD", "NE", "AO", "ML", "ZA", "CO", "ET", "BO", "MR", "EG", "TZ", "NG", "VE", "PK", "NA",
          "MZ", "TR", "CL", "ZM", "MM", "AF", "SO", "CF", "SS", "UA", "MG", "BW", "KE", "FR", "YE", "TH", "ES",
          "TM", "CM", "PG", "SE", "UZ", "MA", "IQ", "PY", "ZW", "JP", "DE", "FI", "VN", "MY", "NO", "PL", "OM",
          "IT", "PH", "EC", "BF", "NZ", "GA", "GN", "GB", "UG", "GH", "RO")  # fmt: skip

# Tiny states go last, into whatever tile is left nearest to them.
_LAST = ("VA", "SM", "MC", "LI", "AD", "MT", "LU", "XK", "PS", "BH", "QA", "KW", "LB", "SG", "HK", "MO", "KN",
         "AG", "DM", "LC", "VC", "GD", "BB", "ST", "KM", "MU", "SC", "RE", "MV", "CV", "GM", "DJ", "BN", "TL")  # fmt: skip

COLS = 40
ROWS = 24
# Europe and the Middle East hold a third of the countries on a tenth of the land: magnify them.
_ZOOM_CENTRE = (47.0, 18.0)
_ZOOM = 1.8


def _project(lat: float, lon: float) -> tuple[float, float]:
    if lat > 28 and -30 < lon < 60:
        clat, clon = _ZOOM_CENTRE
        lat, lon = clat + (lat - clat) * _ZOOM, clon + (lon - clon) * _ZOOM * 0.8
    x = (lon + 170.0) / 360.0 * (COLS - 1)
    y = (80.0 - lat) / 130.0 * (ROWS - 1)
    return x, y


@cache
def layout() -> dict[str, tuple[int, int]]:
    """code → (column, row) on a COLS x ROWS grid, each tile used once."""
    middle = sorted((c for c in CENTROIDS if c not in _FIRST and c not in _LAST), key=lambda c: -abs(CENTROIDS[c][0]))
    order = list(_FIRST) + middle + list(_LAST)
    taken: dict[tuple[int, int], str] = {}
    out: dict[str, tuple[int, int]] = {}
    for code in order:
        x, y = _project(*CENTROIDS[code])
        best: tuple[float, int, int] | None = None
        for radius in range(0, max(COLS, ROWS)):
            for cx in range(int(x) - radius, int(x) + radius + 2):
                for cy in range(int(y) - radius, int(y) + radius + 2):
                    if not (0 <= cx < COLS and 0 <= cy < ROWS) or (cx, cy) in taken:
                        continue
                    d = (cx - x) ** 2 + (cy - y) ** 2
                    if best is None or d < best[0]:
                        best = (d, cx, cy)
            if best is not None and best[0] <= (radius + 0.5) ** 2:
                break
        assert best is not None
        taken[(best[1], best[2])] = code
        out[code] = (best[1], best[2])
    return out


def extent() -> tuple[int, int, int, int]:
    """min column, min row, max column, max row actually used."""
    pos = layout().values()
    xs = [p[0] for p in pos]
    ys = [p[1] for p in pos]
    return min(xs), min(ys), max(xs), max(ys)
