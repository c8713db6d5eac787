#!/usr/bin/env python3
"""HMA's hash-lookup path, minimal, for bench/serve_peer.sh: python-threatexchange's PDQ index
(what HMA's matcher queries: `PdqSignal.get_index_cls()`, faiss underneath) built from a plain
list, behind Flask's `GET /m/lookup?signal_type=pdq&signal=…`, answering HMA's shape
`{"bench": [{"bank_content_id": N, "distance": "D"}]}`. HMA's own route adds a database read of
the matched content and the coin flip; this leaves them out, so it is a *faster* HMA than the
real one. The list is read from the HMA_PEER_LIST environment variable when a worker starts.
"""

import os
import time

from flask import Flask, jsonify, request
from threatexchange.signal_type.pdq.signal import PdqSignal

app = Flask(__name__)


def _build():
    start = time.time()
    entries = []
    with open(os.environ["HMA_PEER_LIST"]) as f:
        for i, line in enumerate(f, 1):
            h = line.strip()
            if len(h) == 64:
                entries.append((h, i))
    index = PdqSignal.get_index_cls().build(entries)
    print(f"hma_peer: {len(entries)} hashes indexed in {time.time() - start:.1f}s", flush=True)
    return index


INDEX = _build()


@app.get("/status")
def status():
    return "I-AM-ALIVE"


@app.get("/m/lookup")
def lookup():
    signal_type = request.args.get("signal_type")
    signal = request.args.get("signal")
    if signal_type != "pdq" or not signal:
        return jsonify({"message": "Either url or both signal and signal_type are required"}), 400
    try:
        signal = PdqSignal.validate_signal_str(signal)
    except Exception as e:  # as HMA: the validation message
        return jsonify({"message": f"invalid signal: {e}"}), 400
    hits = INDEX.query(signal)
    out = [
        {"bank_content_id": m.metadata, "distance": str(m.similarity_info.distance)}
        for m in hits
    ]
    return jsonify({"bench": out} if out else {})
