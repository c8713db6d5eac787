#!/usr/bin/env python3
"""Query hashes for the lookup benchmarks (bench/serve.sh, bench/serve_peer.sh).

    serve_data.py queries LIST N OUT   N query hashes: half are stored hashes of LIST with 0-16
                                       random bits flipped (matches within PDQ's threshold 31),
                                       half are random (misses, the common case in production)
    serve_data.py upload IMAGE OUT     a multipart body (field "photo", boundary "vigilbench")

Seeded: the same inputs give the same queries. Standard library only.
"""

import random
import sys


def queries(list_path, n, out):
    rng = random.Random(20261129)
    # Reservoir-sample n/2 stored hashes without holding the list.
    want = n // 2
    sample = []
    with open(list_path) as f:
        for i, line in enumerate(f):
            h = line.strip()
            if len(h) != 64:
                continue
            if len(sample) < want:
                sample.append(h)
            else:
                j = rng.randrange(i + 1)
                if j < want:
                    sample[j] = h
    qs = []
    for h in sample:
        v = int(h, 16)
        for b in rng.sample(range(256), rng.randrange(17)):
            v ^= 1 << b
        qs.append(f"{v:064x}")
    while len(qs) < n:
        qs.append(f"{rng.getrandbits(256):064x}")
    rng.shuffle(qs)
    with open(out, "w") as f:
        f.write("\n".join(qs) + "\n")


def upload(image, out):
    data = open(image, "rb").read()
    head = (b"--vigilbench\r\nContent-Disposition: form-data; name=\"photo\"; "
            b"filename=\"q.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n")
    with open(out, "wb") as f:
        f.write(head + data + b"\r\n--vigilbench--\r\n")


if __name__ == "__main__":
    if sys.argv[1] == "queries":
        queries(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    elif sys.argv[1] == "upload":
        upload(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
