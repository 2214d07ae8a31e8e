#!/usr/bin/env python3
"""Automatic crawls: objects the flusher writes are crawled moments later
(debounced), and the generated data dictionary in references/ describes the
new table, PII tags included."""
import json
import os
import subprocess
import time

from tarnlib import TARN, Lake, check, eq, run, test


@test
def flushed_stream_becomes_a_catalogued_table():
    lake = Lake(settings={"catalog.crawl_delay": "200ms", "streams.buffer_interval": "1s"})
    lake.start()
    data = subprocess.run([TARN, "gen", "immunizations", "--count", "300", "--seed", "5"],
                          capture_output=True, check=True).stdout
    lake.json("POST", "/v1/streams/immunizations/records", data,
              headers={"Content-Type": "application/x-ndjson"})
    page = os.path.join(lake.dir, "references", "data-dictionary", "raw", "immunizations.md")
    deadline = time.time() + 30
    while time.time() < deadline and not os.path.exists(page):
        time.sleep(0.1)
    check(os.path.exists(page), "no data dictionary page for raw.immunizations: " + lake.tail())
    with open(page) as f:
        md = f.read()
    for col in ("ssn", "first_name", "date_of_birth", "vaccine_name", "year", "month", "day"):
        check(col in md, f"column {col} missing from the dictionary")
    ssn = [l for l in md.splitlines() if "ssn" in l and "|" in l]
    check(ssn and "pii" in ssn[0], f"ssn not tagged pii: {ssn}")
    dose = [l for l in md.splitlines() if "dose_number" in l and "|" in l]
    check(dose and "pii" not in dose[0], f"dose_number tagged pii: {dose}")
    index = os.path.join(lake.dir, "references", "data-dictionary", "index.md")
    check(os.path.exists(index), "no dictionary index")
    eq(lake.stop(), 0, "clean stop")


run()
