#!/usr/bin/env python3
"""Seeded inputs for the bank-import benchmarks (bench/import.sh, bench/import_peer.sh).

    import_data.py plain N PATH   N random PDQ hashes, one 64-hex-digit hash per line
    import_data.py vics  N PATH   a Project VIC VICS 2.0 `#Media` hash set (US data model) with
                                  N media objects

Both are deterministic in N (the same N always gives the same file) and written to PATH.tmp and
then renamed, so an interrupted run never leaves a truncated file that a later run would reuse.
The VICS file is written one media object at a time (memory does not grow with N).

The hashes are random numbers, never real list content. A VICS media object looks like what
exporters write: MediaID, MD5, SHA1, Category (US scheme 0-4), the identification/distribution
flags, DateUpdated, MimeType, MediaSize and MediaFiles; a few carry a Series and Tags. There is
no PDQ member: Vigil's VICS reader maps MD5, SHA1 and PhotoDNA to signals and nothing else.
Standard library only.
"""

import os
import random
import sys

# The context of a VICS 2.0 hash set in the US data model: it declares the US category scheme.
US_MEDIA = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Media"

# US scheme: 0 non-pertinent, 1 CAM, 2 exploitive/age difficult, 3 CGI/animation, 4 comparison.
CATEGORIES = [0, 1, 2, 3, 4]
CATEGORY_WEIGHTS = [40, 35, 15, 5, 5]


def plain(n: int, f) -> None:
    # Unchanged from the first version of bench/import.sh, so existing plain-N.txt files stay valid.
    rng = random.Random(20261129 + n)
    for _ in range(n):
        f.write("%064x\n" % rng.getrandbits(256))


def _flag(rng: random.Random, p_true: float, p_null: float) -> str:
    x = rng.random()
    if x < p_null:
        return "null"
    return "true" if x < p_null + p_true else "false"


def vics(n: int, f) -> None:
    rng = random.Random(0x5C5_0000 + n)
    f.write('{"@odata.context": "%s", "@odata.count": %d, "value": [\n' % (US_MEDIA, n))
    # 2019-01-01T00:00:00Z .. about 2026, second resolution.
    t0, span = 1546300800, 7 * 365 * 86400
    for i in range(1, n + 1):
        md5 = "%032x" % rng.getrandbits(128)
        sha1 = "%040x" % rng.getrandbits(160)
        cat = rng.choices(CATEGORIES, CATEGORY_WEIGHTS)[0]
        video = rng.random() < 0.1
        mime, ext = ("video/mp4", "mp4") if video else ("image/jpeg", "jpg")
        size = rng.randint(5_000_000, 400_000_000) if video else rng.randint(20_000, 6_000_000)
        ts = t0 + rng.randrange(span)
        days, secs = divmod(ts, 86400)
        # Civil date from days since 1970-01-01 (H. Hinnant's algorithm), no datetime objects.
        z = days + 719468
        era = z // 146097
        doe = z - era * 146097
        yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
        doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
        mp = (5 * doy + 2) // 153
        day = doy - (153 * mp + 2) // 5 + 1
        month = mp + 3 if mp < 10 else mp - 9
        year = yoe + era * 400 + (month <= 2)
        date = "%04d-%02d-%02dT%02d:%02d:%02dZ" % (
            year, month, day, secs // 3600, secs // 60 % 60, secs % 60)
        extra = ""
        if cat in (1, 2) and rng.random() < 0.2:
            extra = ', "Series": "S-%05d", "Tags": ["series", "t%d"]' % (
                rng.randrange(20000), rng.randrange(50))
        f.write(
            '%s{"MediaID": %d, "MD5": "%s", "SHA1": "%s", "Category": %d, '
            '"VictimIdentified": %s, "OffenderIdentified": %s, "IsDistributed": %s, '
            '"IsPrecategorized": %s, "DateUpdated": "%s", "MimeType": "%s", "MediaSize": %d%s, '
            '"MediaFiles": [{"FileName": "%08d.%s"}]}'
            % (
                "" if i == 1 else ",\n",
                i, md5, sha1, cat,
                _flag(rng, 0.15, 0.2), _flag(rng, 0.1, 0.2), _flag(rng, 0.5, 0.3),
                "true" if rng.random() < 0.6 else "false",
                date, mime, size, extra, i, ext,
            )
        )
    f.write("\n]}\n")


def main() -> None:
    if len(sys.argv) != 4 or sys.argv[1] not in ("plain", "vics"):
        sys.exit(__doc__)
    kind, n, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="ascii", buffering=1 << 20) as f:
        (plain if kind == "plain" else vics)(n, f)
    os.replace(tmp, path)


if __name__ == "__main__":
    main()
