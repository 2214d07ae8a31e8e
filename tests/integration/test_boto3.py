#!/usr/bin/env python3
"""Kinesis and Firehose through Debian's python3-boto3: batches, exactly
once in the raw zone, per-record errors under backpressure, and SigV4
failures (tampered, expired, skewed) answered 403."""
import datetime
import json
import time

import boto3
import botocore
import botocore.auth
import botocore.awsrequest
import botocore.credentials
import botocore.exceptions
from botocore.config import Config

from tarnlib import ROOT_PASSWORD, ROOT_USER, Lake, check, eq, run, test


def client(lake, service, secret=ROOT_PASSWORD, key=ROOT_USER):
    return boto3.client(service, endpoint_url=lake.url, region_name="eu-west-1",
                        aws_access_key_id=key, aws_secret_access_key=secret,
                        config=Config(retries={"max_attempts": 1}))


@test
def kinesis_and_firehose_batches():
    lake = Lake().start()
    k = client(lake, "kinesis")
    k.create_stream(StreamName="vax", ShardCount=1)
    with_err = []
    sent = 0
    for b in range(6):
        recs = [{"Data": json.dumps({"id": b * 500 + i, "via": "boto3"}).encode(),
                 "PartitionKey": str(i)} for i in range(500)]
        r = k.put_records(StreamName="vax", Records=recs)
        eq(r["FailedRecordCount"], 0, "FailedRecordCount")
        seqs = [int(x["SequenceNumber"]) for x in r["Records"]]
        eq(seqs, sorted(seqs), "sequence numbers in order")
        sent += 500
        with_err += [x for x in r["Records"] if "ErrorCode" in x]
    eq(with_err, [], "per-record errors")
    summary = k.describe_stream_summary(StreamName="vax")["StreamDescriptionSummary"]
    eq(summary["StreamName"], "vax", "summary")
    check(":eu-west-1:" in summary["StreamARN"], summary["StreamARN"])
    f = client(lake, "firehose")
    f.create_delivery_stream(DeliveryStreamName="vaxf")
    r = f.put_record_batch(DeliveryStreamName="vaxf",
                           Records=[{"Data": json.dumps({"id": i}).encode()} for i in range(300)])
    eq(r["FailedPutCount"], 0, "FailedPutCount")
    r = f.put_record(DeliveryStreamName="vaxf", Record={"Data": b'{"id": 300}'})
    check(r["RecordId"], "RecordId")
    for s in ("vax", "vaxf"):
        lake.json("POST", f"/v1/streams/{s}/flush")
    eq(sorted(x["id"] for x in lake.records("vax")), list(range(sent)), "kinesis records")
    eq(sorted(x["id"] for x in lake.records("vaxf")), list(range(301)), "firehose records")
    # Limits are AWS's: 501 records is a validation error for the whole call.
    try:
        k.put_records(StreamName="vax", Records=[{"Data": b"{}", "PartitionKey": "a"}] * 501)
        check(False, "501 records accepted")
    except botocore.exceptions.ClientError as e:
        check("Validation" in e.response["Error"]["Code"] or
              "InvalidArgument" in e.response["Error"]["Code"], str(e))
    try:
        k.describe_stream(StreamName="missing")
        check(False, "missing stream described")
    except botocore.exceptions.ClientError as e:
        eq(e.response["Error"]["Code"], "ResourceNotFoundException", "missing stream")


@test
def backpressure_fails_records_individually():
    # A WAL bound of 1 MiB and a flusher that waits 900 s: the bound is hit.
    lake = Lake(settings={"streams.wal_max_size": "1MiB", "streams.buffer_interval": "900s",
                          "streams.buffer_size": "64MiB"}).start()
    k = client(lake, "kinesis")
    k.create_stream(StreamName="bp", ShardCount=1)
    pad = "z" * 4000
    failed_seen = False
    ok_ids = []
    for b in range(20):
        recs = [{"Data": json.dumps({"id": b * 100 + i, "pad": pad}).encode(),
                 "PartitionKey": "a"} for i in range(100)]
        r = k.put_records(StreamName="bp", Records=recs)
        if r["FailedRecordCount"]:
            eq(r["FailedRecordCount"], 100, "whole batch failed")
            check(all(x.get("ErrorCode") == "ProvisionedThroughputExceededException"
                      for x in r["Records"]), r["Records"][0])
            check(all(x.get("ErrorMessage") for x in r["Records"]), "ErrorMessage")
            failed_seen = True
            break
        ok_ids += [b * 100 + i for i in range(100)]
    check(failed_seen, "the WAL bound never pushed back")
    lake.json("POST", "/v1/streams/bp/flush")
    r = k.put_records(StreamName="bp", Records=[{"Data": b'{"id": -1}', "PartitionKey": "a"}])
    eq(r["FailedRecordCount"], 0, "accepted again after the flush")
    lake.json("POST", "/v1/streams/bp/flush")
    eq(sorted(x["id"] for x in lake.records("bp")), [-1] + ok_ids, "acknowledged records kept")


def signed_request(lake, secret, when=None, tamper=False):
    """A Kinesis ListStreams request signed by botocore, optionally at another time."""
    body = b"{}"
    req = botocore.awsrequest.AWSRequest(
        method="POST", url=lake.url + "/", data=body,
        headers={"X-Amz-Target": "Kinesis_20131202.ListStreams",
                 "Content-Type": "application/x-amz-json-1.1"})
    creds = botocore.credentials.Credentials(ROOT_USER, secret)
    signer = botocore.auth.SigV4Auth(creds, "kinesis", "us-east-1")
    if when is not None:
        real = botocore.auth.datetime.datetime

        class Fixed(real):
            @classmethod
            def utcnow(cls):
                return when
        botocore.auth.datetime.datetime = Fixed
        try:
            signer.add_auth(req)
        finally:
            botocore.auth.datetime.datetime = real
    else:
        signer.add_auth(req)
    headers = dict(req.headers.items())
    if tamper:
        body = b'{"Limit": 1}'
    return lake.request("POST", "/", body=body, headers=headers, auth=None)


@test
def bad_signatures_get_403():
    lake = Lake().start()
    st, _, data = signed_request(lake, ROOT_PASSWORD)
    eq(st, 200, "a good signature")
    st, h, data = signed_request(lake, "wrong-secret")
    eq(st, 403, "wrong secret")
    eq(json.loads(data)["__type"], "InvalidSignatureException", "error type")
    st, _, data = signed_request(lake, ROOT_PASSWORD, tamper=True)
    eq(st, 403, "body changed after signing")
    old = datetime.datetime.utcnow() - datetime.timedelta(minutes=20)
    st, _, data = signed_request(lake, ROOT_PASSWORD, when=old)
    eq(st, 403, "signed 20 minutes ago")
    check(b"expired" in data.lower() or b"skew" in data.lower(), data)
    future = datetime.datetime.utcnow() + datetime.timedelta(minutes=20)
    st, _, data = signed_request(lake, ROOT_PASSWORD, when=future)
    eq(st, 403, "signed 20 minutes ahead")
    st, _, data = lake.request("POST", "/", body=b"{}", auth=None, headers={
        "X-Amz-Target": "Kinesis_20131202.ListStreams",
        "Content-Type": "application/x-amz-json-1.1"})
    eq(st, 403, "unsigned")
    near = datetime.datetime.utcnow() - datetime.timedelta(minutes=10)
    st, _, _ = signed_request(lake, ROOT_PASSWORD, when=near)
    eq(st, 200, "10 minutes of skew is within the 15 allowed")
    time.sleep(0)


run()
