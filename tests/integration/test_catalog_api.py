#!/usr/bin/env python3
"""The catalog over REST and the CLI: POST /v1/crawl, GET /v1/catalog/tables,
/v1/catalog/tables/{db}.{table}, /v1/catalog/errors, PUT .../columns/{c}/tags,
and `tarn crawl | tables | describe | tag` against the same kind of server.

Automatic crawls are pushed out of the way (crawl_delay 1h, interval 0), so
every crawl here is one the test asked for."""
import json
import os
import subprocess
import threading
import urllib.parse

from tarnlib import ROOT_PASSWORD, ROOT_USER, TARN, Lake, check, eq, run, test

QUIET = {"catalog.crawl_delay": "3600000ms", "catalog.crawl_interval": "0"}

CSV = ("clinic_id,clinic_name,opened,beds\n"
       "1,North Clinic,2020-01-05,12\n"
       "2,South Clinic,2019-07-30,8\n"
       "3,East Clinic,2021-03-14,20\n")
BROKEN = '{"a": 1, "b": "x"}\n{"a": 2, "b": \n'


def immunizations_lake(count=500):
    lake = Lake(settings=QUIET).start()
    lake.ingest_sample(count, 7, crawl=False)
    return lake


def drop_files(lake):
    drop = os.path.join(lake.dir, "04-user-drop-zone")
    with open(os.path.join(drop, "clinics.csv"), "w") as f:
        f.write(CSV)
    with open(os.path.join(drop, "broken.json"), "w") as f:
        f.write(BROKEN)


def columns(desc):
    return {c["name"]: c for c in desc["columns"]}


def tag_path(table, column):
    return (f"/v1/catalog/tables/{urllib.parse.quote(table)}/columns/"
            f"{urllib.parse.quote(column)}/tags")


@test
def crawl_lists_describes_and_tags():
    lake = immunizations_lake()
    rep = lake.json("POST", "/v1/crawl")
    # the audit trail (log/audit/) is a table too: log.audit
    eq(rep["tables_new"], 2, "tables new")
    check(rep["files_read"] >= 1, rep)
    eq([(t["database"], t["name"], t["new"]) for t in rep["tables"]],
       [("raw", "immunizations", True), ("log", "audit", True)], "report tables")
    eq(rep["bad_files"], [], "bad files")

    tables = lake.json("GET", "/v1/catalog/tables")["tables"]
    imm = [t for t in tables if (t["database"], t["name"]) == ("raw", "immunizations")]
    eq(len(imm), 1, "raw.immunizations listed")
    eq(imm[0]["rows"], 500, "rows")
    eq(imm[0]["format"], "json", "format")
    check(imm[0]["files"] >= 1 and imm[0]["bytes"] > 0 and imm[0]["last_crawl"], imm[0])
    check("columns" not in imm[0], "a summary has no columns")
    eq([t["name"] for t in lake.json("GET", "/v1/catalog/tables?db=bronze")["tables"]],
       ["immunizations"], "bronze alias")
    eq(lake.json("GET", "/v1/catalog/tables?db=drop")["tables"], [], "drop is empty")
    eq(len(lake.json("GET", "/v1/catalog/tables?x=1&db=%62ronze")["tables"]), 1, "escaped")

    desc = lake.json("GET", "/v1/catalog/tables/raw.immunizations")
    cols = columns(desc)
    for p in ("year", "month", "day"):
        check(p in cols and cols[p]["partition"], f"partition column {p}: {cols.get(p)}")
    eq([k["name"] for k in desc["partition_keys"]], ["year", "month", "day"], "keys")
    check(cols["ssn"]["pii"], f"ssn not pii: {cols['ssn']}")
    eq([t["source"] for t in cols["ssn"]["tags"]], ["crawler"], "ssn tag source")
    check(not cols["dose_number"]["pii"], f"dose_number pii: {cols['dose_number']}")
    eq(desc["classification"], "pii", "classification")
    eq(desc["schema_history"][0]["version"], 1, "history")

    # the drop zone: a CSV table and a corrupted JSON file
    drop_files(lake)
    rep = lake.json("POST", "/v1/crawl", {"target": "drop"})
    eq([(t["database"], t["name"]) for t in rep["tables"]], [("drop", "clinics")], "new tables")
    eq([b["path"] for b in rep["bad_files"]], ["04-user-drop-zone/broken.json"], "bad")
    check(rep["bad_files"][0]["reason"], rep)
    clinics = lake.json("GET", "/v1/catalog/tables/drop.clinics")
    eq(clinics["format"], "csv", "csv format")
    eq([c["name"] for c in clinics["columns"]], ["clinic_id", "clinic_name", "opened", "beds"],
       "csv columns")
    eq(clinics["rows"], 3, "csv rows")
    errs = lake.json("GET", "/v1/catalog/errors")["errors"]
    eq([e["path"] for e in errs], ["04-user-drop-zone/broken.json"], "errors")
    check(errs[0]["reason"] and errs[0]["database"] == "drop", errs[0])
    eq(lake.json("GET", "/v1/catalog/errors?db=raw")["errors"], [], "no raw errors")
    eq(len(lake.json("GET", "/v1/catalog/errors?db=drop")["errors"]), 1, "drop errors")

    # admin decisions survive a full re-crawl
    got = lake.json("PUT", tag_path("raw.immunizations", "dose_number"), {"tag": "pii"})
    eq(got["table"], "raw.immunizations", "tag answer table")
    check(got["column"]["pii"], got)
    got = lake.json("PUT", tag_path("raw.immunizations", "ssn"), {"tag": None})
    check(not got["column"]["pii"], got)
    rep = lake.json("POST", "/v1/crawl", {"target": "raw", "full": True})
    check(rep["files_read"] >= 1, f"full crawl read nothing: {rep}")
    cols = columns(lake.json("GET", "/v1/catalog/tables/raw.immunizations"))
    check(cols["dose_number"]["pii"], f"admin pii lost: {cols['dose_number']}")
    eq([t["source"] for t in cols["dose_number"]["tags"]], ["admin"], "dose_number tags")
    check(not cols["ssn"]["pii"], f"admin clear lost: {cols['ssn']}")
    check(any(t["cleared"] for t in cols["ssn"]["tags"]), cols["ssn"])
    got = lake.json("PUT", tag_path("raw.immunizations", "ssn"), {"tag": "auto"})
    check(got["column"]["pii"], f"auto did not give ssn back to the crawler: {got}")
    # incremental crawl of an unchanged tree reads nothing
    rep = lake.json("POST", "/v1/crawl", {"target": "01-raw-data-zone/immunizations"})
    eq(rep["files_read"], 0, "unchanged tree")
    eq(lake.stop(), 0, "clean stop")


@test
def bad_requests_are_4xx():
    lake = Lake(settings=QUIET).start()

    def status(method, path, body=None):
        st, _, data = lake.request(method, path, body)
        if st >= 400:
            err = json.loads(data)["error"]
            check(err["code"] and err["message"], data)
        return st

    check(status("POST", "/v1/crawl", {"target": "nowhere"}) in (400, 404), "bad zone")
    eq(status("POST", "/v1/crawl", {"target": "01-raw-data-zone/nope"}), 404, "missing prefix")
    eq(status("POST", "/v1/crawl", {"target": 5}), 400, "target type")
    eq(status("POST", "/v1/crawl", {"full": "yes"}), 400, "full type")
    eq(status("POST", "/v1/crawl", "{not json"), 400, "invalid JSON")
    eq(status("GET", "/v1/catalog/tables?db=nope"), 404, "unknown db")
    eq(status("GET", "/v1/catalog/errors?db=nope"), 404, "unknown db errors")
    eq(status("GET", "/v1/catalog/tables/raw.nope"), 404, "unknown table")
    eq(status("GET", "/v1/catalog/tables/nodot"), 400, "no db")
    eq(status("PUT", tag_path("raw.nope", "x"), {"tag": "pii"}), 404, "tag unknown table")
    eq(status("PUT", tag_path("raw.nope", "x"), {}), 400, "tag without tag")
    eq(status("PUT", tag_path("raw.nope", "x"), {"tag": 3}), 400, "tag of a bad type")
    st, _, _ = lake.request("GET", "/v1/catalog/tables", auth=None)
    eq(st, 401, "unauthenticated")
    # an empty lake crawls fine
    rep = lake.json("POST", "/v1/crawl", "")
    eq(rep["tables_new"], 1, "nothing to crawl but the audit trail")
    eq([(t["database"], t["name"]) for t in lake.json("GET", "/v1/catalog/tables")["tables"]],
       [("log", "audit")], "only log.audit")


@test
def tag_errors_name_the_column():
    lake = immunizations_lake(50)
    lake.json("POST", "/v1/crawl")
    st, _, data = lake.request("PUT", tag_path("raw.immunizations", "nope"), {"tag": "pii"})
    eq(st, 404, "unknown column")
    check("nope" in json.loads(data)["error"]["message"], data)
    st, _, _ = lake.request("PUT", tag_path("raw.immunizations", "ssn"), {"tag": "Bad Tag!"})
    eq(st, 400, "bad tag name")
    # a struct field
    got = lake.json("PUT", tag_path("raw.immunizations", "provider.npi"), {"tag": "pii"})
    eq(got["column"]["name"], "provider.npi", "field")
    check(got["column"]["pii"], got)


@test
def concurrent_crawls_are_200_or_409():
    lake = immunizations_lake(2000)
    results = []

    def one():
        st, _, data = lake.request("POST", "/v1/crawl", {"full": True})
        results.append((st, json.loads(data)))

    threads = [threading.Thread(target=one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sts = sorted(st for st, _ in results)
    check(sts[0] == 200 and set(sts) <= {200, 409}, f"statuses {sts}")
    for st, doc in results:
        if st == 409:
            eq(doc["error"]["code"], "busy", "409 code")
            check("running" in doc["error"]["message"], doc)


def cli(lake, *args, ok=True):
    e = dict(os.environ, TARN_URL=lake.url, TARN_USER=ROOT_USER, TARN_PASSWORD=ROOT_PASSWORD)
    e.pop("TARN_TOKEN", None)
    out = subprocess.run([TARN, *args], capture_output=True, env=e, timeout=300, text=True)
    if ok and out.returncode != 0:
        raise AssertionError(f"tarn {' '.join(args)}: rc {out.returncode}: {out.stderr}")
    return out


@test
def cli_crawl_tables_describe_tag():
    lake = immunizations_lake()
    out = cli(lake, "crawl", "raw")
    check("1 table new" in out.stdout and "raw.immunizations" in out.stdout, out.stdout)
    drop_files(lake)
    out = cli(lake, "crawl", "drop")  # bad files do not fail the crawl
    check("drop.clinics" in out.stdout, out.stdout)
    check("04-user-drop-zone/broken.json: " in out.stdout, out.stdout)
    rep = json.loads(cli(lake, "crawl", "--full", "--json").stdout)
    check(rep["files_read"] >= 2, rep)

    out = cli(lake, "tables")
    lines = out.stdout.splitlines()
    check(lines[0].split()[:3] == ["TABLE", "FORMAT", "FILES"], lines[0])
    check(any(l.split()[:2] == ["drop.clinics", "csv"] for l in lines), out.stdout)
    row = [l for l in lines if l.startswith("raw.immunizations ")]
    check(row and " 500 " in row[0], out.stdout)
    out = cli(lake, "tables", "bronze")
    check("raw.immunizations" in out.stdout and "drop.clinics" not in out.stdout, out.stdout)
    names = [t["name"] for t in json.loads(cli(lake, "tables", "drop", "--json").stdout)["tables"]]
    eq(names, ["clinics"], "tables --json")

    out = cli(lake, "describe", "raw.immunizations")
    ssn = [l for l in out.stdout.splitlines() if l.split()[:1] == ["ssn"]]
    check(ssn and "pii (crawler" in ssn[0], out.stdout)
    dose = [l for l in out.stdout.splitlines() if l.split()[:1] == ["dose_number"]]
    check(dose and "pii" not in dose[0], dose)
    check("partition keys: year INTEGER (date folders)" in out.stdout, out.stdout)
    check("schema history:" in out.stdout and "rows            500" in out.stdout, out.stdout)
    desc = json.loads(cli(lake, "describe", "bronze.immunizations", "--json").stdout)
    eq(desc["database"], "raw", "alias in describe")

    out = cli(lake, "tag", "raw.immunizations.dose_number", "pii")
    check("dose_number: pii" in out.stdout, out.stdout)
    out = cli(lake, "tag", "raw.immunizations", "ssn", "none")
    check("ssn: not pii" in out.stdout, out.stdout)
    cols = columns(json.loads(cli(lake, "describe", "raw.immunizations", "--json").stdout))
    check(cols["dose_number"]["pii"] and not cols["ssn"]["pii"], "tags via CLI")
    cli(lake, "tag", "raw.immunizations.ssn", "auto")
    cols = columns(json.loads(cli(lake, "describe", "raw.immunizations", "--json").stdout))
    check(cols["ssn"]["pii"], "auto via CLI")

    # failures: one line on stderr, exit 1; bad usage exit 2
    out = cli(lake, "describe", "raw.nope", ok=False)
    eq(out.returncode, 1, "describe unknown")
    check(out.stderr.startswith("tarn: ") and "nope" in out.stderr, out.stderr)
    out = cli(lake, "crawl", "nowhere", ok=False)
    eq(out.returncode, 1, "crawl bad target")
    check(out.stderr.startswith("tarn: "), out.stderr)
    eq(cli(lake, "tag", "raw.immunizations.ssn", "maybe", ok=False).returncode, 2, "bad tag")
    eq(cli(lake, "tag", "raw.immunizations", ok=False).returncode, 2, "tag too few")
    eq(cli(lake, "describe", ok=False).returncode, 2, "describe no table")
    eq(cli(lake, "tag", "raw.immunizations.nope", "pii", ok=False).returncode, 1, "no column")
    for cmd in ("crawl", "tables", "describe", "tag"):
        out = cli(lake, cmd, "--help")
        check(out.stdout.startswith(f"usage: tarn {cmd}"), out.stdout)
    out = cli(lake, "tables", "nope", ok=False)
    eq(out.returncode, 1, "tables unknown zone")


run()
