#!/usr/bin/env python3
"""Multipart uploads through the S3 API with boto3 and the aws CLI: a
100 MiB `aws s3 cp` (8 MiB parts), boto3's transfer manager with 8 MiB
parts, the low-level calls (create, upload part, list parts, list
uploads, complete, abort, upload part copy), S3's errors for bad
completions, and nothing visible until completion."""
import hashlib
import os
import subprocess

import boto3
import botocore
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

from tarnlib import Lake, ROOT_PASSWORD, ROOT_USER, aws_env, check, eq, run, test

QUIET = {"catalog.crawl_delay": "3600000ms", "catalog.crawl_interval": "0"}
MiB = 1 << 20


def client(lake):
    return boto3.client("s3", endpoint_url=f"http://127.0.0.1:{lake.s3_port}",
                        aws_access_key_id=ROOT_USER, aws_secret_access_key=ROOT_PASSWORD,
                        region_name="us-east-1",
                        config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                                      retries={"max_attempts": 1}))


def code(fn):
    try:
        fn()
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"]
    return None


def md5s_etag(parts):
    return '"' + hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest() + \
        f'-{len(parts)}"'


@test
def multipart_with_the_cli_and_boto3():
    lake = Lake(settings=QUIET).start()
    try:
        s3 = client(lake)
        b = "lake"
        # 100 MiB through aws s3 cp (multipart, 8 MiB parts by default)
        big = os.path.join(lake.tmp, "big.bin")
        with open(big, "wb") as f:
            for i in range(100):
                f.write(hashlib.sha256(str(i).encode()).digest() * (MiB // 32))
        out = subprocess.run(["/usr/bin/aws", "--endpoint-url", f"http://127.0.0.1:{lake.s3_port}",
                              "s3", "cp", big, f"s3://{b}/04-user-drop-zone/big/big.bin"],
                             capture_output=True, text=True, env=aws_env(lake), timeout=600)
        eq(out.returncode, 0, f"aws s3 cp 100 MiB: {out.stderr}")
        with open(big, "rb") as f:
            data = f.read()
        with open(os.path.join(lake.dir, "04-user-drop-zone/big/big.bin"), "rb") as f:
            check(f.read() == data, "the object is the file, byte for byte")
        h = s3.head_object(Bucket=b, Key="04-user-drop-zone/big/big.bin")
        parts = [data[i:i + 8 * MiB] for i in range(0, len(data), 8 * MiB)]
        eq(h["ETag"], md5s_etag(parts), "the multipart ETag: MD5 of the part MD5s, -N")
        eq(h["ContentLength"], 100 * MiB, "size")
        check(not os.listdir(os.path.join(lake.dir, ".tarn/uploads")), "no upload left behind")
        # boto3's transfer manager, 8 MiB parts, with metadata
        cfg = TransferConfig(multipart_threshold=8 * MiB, multipart_chunksize=8 * MiB)
        s3.upload_file(big, b, "04-user-drop-zone/big/b3.bin", Config=cfg,
                       ExtraArgs={"Metadata": {"src": "boto3"}, "ContentType": "x/y"})
        h = s3.head_object(Bucket=b, Key="04-user-drop-zone/big/b3.bin")
        eq((h["Metadata"], h["ContentType"]), ({"src": "boto3"}, "x/y"), "metadata kept")
        eq(h["ETag"], md5s_etag(parts), "same parts, same ETag")
        # the low-level calls
        key = "04-user-drop-zone/mp/x.bin"
        up = s3.create_multipart_upload(Bucket=b, Key=key)["UploadId"]
        p1 = os.urandom(5 * MiB)
        p2 = b"tail"
        e1 = s3.upload_part(Bucket=b, Key=key, UploadId=up, PartNumber=1, Body=p1)["ETag"]
        e2 = s3.upload_part(Bucket=b, Key=key, UploadId=up, PartNumber=2, Body=p2)["ETag"]
        eq(e1, '"' + hashlib.md5(p1).hexdigest() + '"', "part ETag")
        check(not os.path.exists(os.path.join(lake.dir, key)), "nothing visible before complete")
        lp = s3.list_parts(Bucket=b, Key=key, UploadId=up)
        eq([(p["PartNumber"], p["Size"]) for p in lp["Parts"]], [(1, 5 * MiB), (2, 4)], "parts")
        ups = s3.list_multipart_uploads(Bucket=b)["Uploads"]
        eq([(u["Key"], u["UploadId"]) for u in ups], [(key, up)], "uploads in progress")
        # bad completions: wrong ETag, unknown part, order, too small a part, unknown upload
        eq(code(lambda: s3.complete_multipart_upload(
            Bucket=b, Key=key, UploadId=up, MultipartUpload={"Parts": [
                {"PartNumber": 1, "ETag": '"00000000000000000000000000000000"'}]})),
           "InvalidPart", "wrong ETag")
        eq(code(lambda: s3.complete_multipart_upload(
            Bucket=b, Key=key, UploadId=up, MultipartUpload={"Parts": [
                {"PartNumber": 2, "ETag": e2}, {"PartNumber": 1, "ETag": e1}]})),
           "InvalidPartOrder", "order")
        e3 = s3.upload_part(Bucket=b, Key=key, UploadId=up, PartNumber=3, Body=b"x")["ETag"]
        eq(code(lambda: s3.complete_multipart_upload(
            Bucket=b, Key=key, UploadId=up, MultipartUpload={"Parts": [
                {"PartNumber": 2, "ETag": e2}, {"PartNumber": 3, "ETag": e3}]})),
           "EntityTooSmall", "a small part before the last")
        eq(code(lambda: s3.upload_part(Bucket=b, Key=key, UploadId="0" * 32, PartNumber=1,
                                       Body=b"x")), "NoSuchUpload", "unknown upload")
        # upload part copy: a range of an existing object
        e4 = s3.upload_part_copy(Bucket=b, Key=key, UploadId=up, PartNumber=4,
                                 CopySource={"Bucket": b, "Key": "04-user-drop-zone/big/big.bin"},
                                 CopySourceRange="bytes=0-99")["CopyPartResult"]["ETag"]
        eq(e4, '"' + hashlib.md5(data[:100]).hexdigest() + '"', "copied part")
        r = s3.complete_multipart_upload(Bucket=b, Key=key, UploadId=up, MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 4, "ETag": e4}]})
        eq(r["ETag"], md5s_etag([p1, data[:100]]), "completed from parts 1 and 4")
        eq(s3.get_object(Bucket=b, Key=key)["Body"].read(), p1 + data[:100], "the bytes")
        eq(code(lambda: s3.list_parts(Bucket=b, Key=key, UploadId=up)), "NoSuchUpload",
           "the upload is gone once complete")
        # abort leaves nothing
        up2 = s3.create_multipart_upload(Bucket=b, Key="04-user-drop-zone/mp/y.bin")["UploadId"]
        s3.upload_part(Bucket=b, Key="04-user-drop-zone/mp/y.bin", UploadId=up2, PartNumber=1,
                       Body=b"abc")
        s3.abort_multipart_upload(Bucket=b, Key="04-user-drop-zone/mp/y.bin", UploadId=up2)
        check(not os.path.exists(os.path.join(lake.dir, "04-user-drop-zone/mp/y.bin")), "abort")
        eq(s3.list_multipart_uploads(Bucket=b).get("Uploads", []), [], "no uploads left")
        # raw stays immutable through multipart too
        s3.put_object(Bucket=b, Key="01-raw-data-zone/m/1.json", Body=b"{}")
        up3 = s3.create_multipart_upload(Bucket=b, Key="01-raw-data-zone/m/1.json")["UploadId"]
        e = s3.upload_part(Bucket=b, Key="01-raw-data-zone/m/1.json", UploadId=up3,
                           PartNumber=1, Body=b"[]")["ETag"]
        eq(code(lambda: s3.complete_multipart_upload(
            Bucket=b, Key="01-raw-data-zone/m/1.json", UploadId=up3,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e}]})), "AccessDenied",
           "raw overwrite by multipart")
        with open(os.path.join(lake.dir, "01-raw-data-zone/m/1.json"), "rb") as f:
            eq(f.read(), b"{}", "raw object unchanged")
    finally:
        lake.stop()


if __name__ == "__main__":
    run()
