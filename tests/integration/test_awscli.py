#!/usr/bin/env python3
"""Kinesis and Firehose through Debian's aws CLI (/usr/bin/aws) with
--endpoint-url: every record sent appears exactly once in the raw zone;
non-JSON records are quarantined with their reason; bad secrets get 403."""
import json
import os
import subprocess

from tarnlib import KEY_RE, Lake, aws_env, check, eq, run, test

AWS = "/usr/bin/aws"


def aws(lake, *args, secret=None, ok=True):
    out = subprocess.run([AWS, "--endpoint-url", lake.url, *args], env=aws_env(lake, secret),
                         capture_output=True, text=True, timeout=120)
    if ok and out.returncode != 0:
        raise AssertionError(f"aws {' '.join(args)} failed: {out.stderr}")
    return out


@test
def kinesis_put_records_lands_exactly_once():
    lake = Lake().start()
    aws(lake, "kinesis", "create-stream", "--stream-name", "clicks", "--shard-count", "1")
    desc = json.loads(aws(lake, "kinesis", "describe-stream", "--stream-name", "clicks").stdout)
    eq(desc["StreamDescription"]["StreamStatus"], "ACTIVE", "status")
    check(desc["StreamDescription"]["Shards"], "a shard")
    recfile = os.path.join(lake.tmp, "records.json")
    sent = []
    for batch in range(4):
        recs = []
        for i in range(100):
            n = batch * 100 + i
            sent.append(n)
            recs.append({"Data": json.dumps({"n": n, "src": "cli"}), "PartitionKey": f"p{n % 7}"})
        with open(recfile, "w") as f:
            json.dump(recs, f)
        res = json.loads(aws(lake, "kinesis", "put-records", "--stream-name", "clicks",
                             "--cli-binary-format", "raw-in-base64-out",
                             "--records", "file://" + recfile).stdout)
        eq(res["FailedRecordCount"], 0, "failed records")
        eq(len(res["Records"]), 100, "results")
        check(all("SequenceNumber" in r and "ShardId" in r for r in res["Records"]), "seq numbers")
    one = json.loads(aws(lake, "kinesis", "put-record", "--stream-name", "clicks",
                         "--partition-key", "k", "--cli-binary-format", "raw-in-base64-out",
                         "--data", json.dumps({"n": 400, "src": "cli"})).stdout)
    sent.append(400)
    check(int(one["SequenceNumber"]) > 0, "sequence number")
    names = json.loads(aws(lake, "kinesis", "list-streams").stdout)["StreamNames"]
    check("clicks" in names, "list-streams")
    lake.json("POST", "/v1/streams/clicks/flush")
    got = sorted(r["n"] for r in lake.records("clicks"))
    eq(got, sorted(sent), "records in the raw zone")
    for k in lake.objects("clicks"):
        check(KEY_RE.match(k), f"key {k}")


@test
def firehose_put_record_batch_and_quarantine():
    lake = Lake().start()
    aws(lake, "firehose", "create-delivery-stream", "--delivery-stream-name", "fh")
    d = json.loads(aws(lake, "firehose", "describe-delivery-stream",
                       "--delivery-stream-name", "fh").stdout)
    eq(d["DeliveryStreamDescription"]["DeliveryStreamStatus"], "ACTIVE", "status")
    recfile = os.path.join(lake.tmp, "batch.json")
    recs = [{"Data": json.dumps({"f": i}) + "\n"} for i in range(50)]
    recs.append({"Data": "this is not json"})
    with open(recfile, "w") as f:
        json.dump(recs, f)
    res = json.loads(aws(lake, "firehose", "put-record-batch", "--delivery-stream-name", "fh",
                         "--cli-binary-format", "raw-in-base64-out",
                         "--records", "file://" + recfile).stdout)
    eq(res["FailedPutCount"], 0, "failed puts")
    eq(len(res["RequestResponses"]), 51, "responses")
    lake.json("POST", "/v1/streams/fh/flush")
    eq(sorted(r["f"] for r in lake.records("fh")), list(range(50)), "good records")
    q = lake.quarantined("fh")
    eq(len(q), 1, "quarantined records")
    eq(q[0]["data"], "this is not json", "quarantined data kept")
    check("invalid JSON" in q[0]["reason"], q[0]["reason"])
    names = json.loads(aws(lake, "firehose", "list-delivery-streams").stdout)
    check("fh" in names["DeliveryStreamNames"], "list-delivery-streams")


@test
def wrong_secret_is_refused():
    lake = Lake().start()
    out = aws(lake, "kinesis", "list-streams", secret="not-the-secret", ok=False)
    check(out.returncode != 0, "wrong secret accepted")
    check("InvalidSignatureException" in out.stderr or "403" in out.stderr, out.stderr)
    out = subprocess.run([AWS, "--endpoint-url", lake.url, "kinesis", "list-streams"],
                         env=aws_env(lake, AWS_ACCESS_KEY_ID="AKIDUNKNOWN"),
                         capture_output=True, text=True, timeout=60)
    check(out.returncode != 0 and "UnrecognizedClient" in out.stderr, out.stderr)
    out = aws(lake, "kinesis", "put-record", "--stream-name", "nope", "--partition-key", "k",
              "--data", "e30=", secret="bad", ok=False)
    check(out.returncode != 0, "put with a wrong secret accepted")
    eq(lake.objects("nope"), [], "nothing written")


run()
