#!/usr/bin/python3
"""s3xml_botocore.py DIR - botocore reads the documents src/s3/xml.c wrote.

test_s3xml (botocore_parses_the_documents) writes one document per S3
operation into DIR and runs this script with Debian's python3.  Each
document is handed to a real botocore S3 client as if a server had sent
it: a 'before-send' hook answers the request locally (nothing leaves the
process), so the client's own response parser and its S3 customisations
(URL-decoding of keys for encoding-type=url, the GetBucketLocation body
parser, error parsing) run exactly as against a server.  The expected
values below mirror what the C test passed to the writers.

Prints "botocore: ok NAME" or "botocore: FAIL NAME: why" per document
(never a line starting with "ok "/"FAIL ", which tests/run.sh counts) and
exits 1 if anything failed.
"""
import datetime
import os
import sys

import botocore.session
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import ClientError

UTC = datetime.timezone.utc
T1 = datetime.datetime(2026, 11, 22, 5, 40, 39, 123000, tzinfo=UTC)
T2 = datetime.datetime(2026, 1, 2, 3, 4, 5, 0, tzinfo=UTC)
OWNER = {"ID": "75aa57f09aa0c8ca", "DisplayName": "tarn"}


class Raw:
    """The minimal raw body AWSResponse reads (.stream())."""

    def __init__(self, body):
        self.body = body

    def stream(self, **kwargs):
        yield self.body


class Fake:
    def __init__(self, directory):
        self.dir = directory
        self.name = None
        self.status = 200
        self.urls = []

    def before_send(self, request, **kwargs):
        self.urls.append(request.url)
        with open(os.path.join(self.dir, self.name), "rb") as f:
            body = f.read()
        headers = {"Content-Type": "application/xml", "x-amz-request-id": "req",
                   "Content-Length": str(len(body))}
        return AWSResponse(request.url, self.status, headers, Raw(body))


def eq(what, got, want):
    if got != want:
        raise AssertionError("%s: got %r, want %r" % (what, got, want))


def main():
    fake = Fake(sys.argv[1])
    session = botocore.session.get_session()
    client = session.create_client(
        "s3", region_name="us-east-1", endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret",
        config=Config(retries={"total_max_attempts": 1}, s3={"addressing_style": "path"}))
    client.meta.events.register("before-send.s3", fake.before_send)

    def call(name, status=200):
        fake.name = name
        fake.status = status
        fake.urls.clear()

    failed = 0

    def check(name, fn):
        nonlocal failed
        try:
            fn()
            print("botocore: ok %s" % name)
        except Exception as e:  # report and go on with the next document
            failed += 1
            print("botocore: FAIL %s: %s: %s" % (name, type(e).__name__, e))

    def list_v2():
        call("ListObjectsV2.xml")
        r = client.list_objects_v2(Bucket="lake", Delimiter="/")
        if "encoding-type=url" not in fake.urls[0]:
            raise AssertionError("botocore did not ask for encoding-type=url: " + fake.urls[0])
        eq("Name", r["Name"], "lake")
        eq("Prefix", r["Prefix"], "")
        eq("Delimiter", r["Delimiter"], "/")
        eq("EncodingType", r["EncodingType"], "url")
        eq("KeyCount", r["KeyCount"], 5)
        eq("MaxKeys", r["MaxKeys"], 5)
        eq("IsTruncated", r["IsTruncated"], True)
        eq("NextContinuationToken", r["NextContinuationToken"], "tok/2+=")
        c = r["Contents"]
        eq("keys", [o["Key"] for o in c], ["dir one/a+b.csv", "caf\u00e9/<&>'\"", "ctl\x01key"])
        eq("sizes", [o["Size"] for o in c], [0, 12345678901, 3])
        eq("etags", [o["ETag"] for o in c],
           ['"d41d8cd98f00b204e9800998ecf8427e"', '"0cc175b9c0f1b6a831c399e269772661-2"', '"e"'])
        eq("LastModified", [o["LastModified"] for o in c], [T1, T2, T2])
        eq("StorageClass", c[0]["StorageClass"], "STANDARD")
        eq("Owner", c[1].get("Owner"), OWNER)
        eq("no Owner", "Owner" in c[0], False)
        eq("CommonPrefixes", r["CommonPrefixes"], [{"Prefix": "dir two/"}, {"Prefix": "x+y/"}])

    def list_v1():
        call("ListObjects.xml")
        r = client.list_objects(Bucket="lake", Delimiter="/", Marker="a b")
        eq("Marker", r["Marker"], "a b")
        eq("NextMarker", r["NextMarker"], "x+y/")
        eq("IsTruncated", r["IsTruncated"], True)
        eq("MaxKeys", r["MaxKeys"], 3)
        eq("keys", [o["Key"] for o in r["Contents"]], ["dir one/a+b.csv"])
        eq("LastModified", r["Contents"][0]["LastModified"], T1)
        eq("CommonPrefixes", r["CommonPrefixes"], [{"Prefix": "dir two/"}, {"Prefix": "x+y/"}])
        eq("no KeyCount", "KeyCount" in r, False)

    def list_buckets():
        call("ListBuckets.xml")
        r = client.list_buckets()
        eq("Owner", r["Owner"], OWNER)
        eq("Buckets", r["Buckets"], [{"Name": "lake", "CreationDate": T1}])

    def location():
        call("GetBucketLocation.xml")
        eq("us-east-1", client.get_bucket_location(Bucket="lake")["LocationConstraint"], None)
        call("GetBucketLocation-eu.xml")
        eq("eu-west-1", client.get_bucket_location(Bucket="lake")["LocationConstraint"],
           "eu-west-1")

    def copy():
        call("CopyObject.xml")
        r = client.copy_object(Bucket="lake", Key="k2", CopySource="lake/k1")
        eq("CopyObjectResult", r["CopyObjectResult"], {"ETag": '"abc"', "LastModified": T1})
        call("UploadPartCopy.xml")
        r = client.upload_part_copy(Bucket="lake", Key="k2", CopySource="lake/k1",
                                    PartNumber=1, UploadId="u-1")
        eq("CopyPartResult", r["CopyPartResult"], {"ETag": '"abc"', "LastModified": T1})

    def multipart():
        call("CreateMultipartUpload.xml")
        r = client.create_multipart_upload(Bucket="lake", Key="drop/big & file")
        eq("Bucket", r["Bucket"], "lake")
        eq("Key", r["Key"], "drop/big & file")
        eq("UploadId", r["UploadId"], "u-1")
        call("CompleteMultipartUpload.xml")
        r = client.complete_multipart_upload(
            Bucket="lake", Key="drop/big & file", UploadId="u-1",
            MultipartUpload={"Parts": [{"ETag": '"aa"', "PartNumber": 1}]})
        eq("Location", r["Location"], "http://127.0.0.1:9000/lake/drop/big%20%26%20file")
        eq("Key", r["Key"], "drop/big & file")
        eq("ETag", r["ETag"], '"abc-2"')

    def list_parts():
        call("ListParts.xml")
        r = client.list_parts(Bucket="lake", Key="drop/big & file", UploadId="u-1")
        eq("Key", r["Key"], "drop/big & file")
        eq("UploadId", r["UploadId"], "u-1")
        eq("PartNumberMarker", r["PartNumberMarker"], 0)
        eq("NextPartNumberMarker", r["NextPartNumberMarker"], 2)
        eq("MaxParts", r["MaxParts"], 2)
        eq("IsTruncated", r["IsTruncated"], True)
        eq("Initiator", r["Initiator"], OWNER)
        eq("Owner", r["Owner"], OWNER)
        eq("StorageClass", r["StorageClass"], "STANDARD")
        eq("Parts", r["Parts"], [
            {"PartNumber": 1, "LastModified": T1, "ETag": '"aa"', "Size": 5242880},
            {"PartNumber": 2, "LastModified": T2, "ETag": '"bb"', "Size": 7}])

    def list_uploads():
        call("ListMultipartUploads.xml")
        r = client.list_multipart_uploads(Bucket="lake", Prefix="drop/", Delimiter="/")
        eq("KeyMarker", r["KeyMarker"], "")
        eq("NextKeyMarker", r["NextKeyMarker"], "drop/a b")
        eq("NextUploadIdMarker", r["NextUploadIdMarker"], "u-1")
        eq("Prefix", r["Prefix"], "drop/")
        eq("Delimiter", r["Delimiter"], "/")
        eq("MaxUploads", r["MaxUploads"], 1)
        eq("IsTruncated", r["IsTruncated"], True)
        eq("Uploads", r["Uploads"], [{
            "Key": "drop/a b", "UploadId": "u-1", "Initiator": OWNER, "Owner": OWNER,
            "StorageClass": "STANDARD", "Initiated": T1}])
        eq("CommonPrefixes", r["CommonPrefixes"], [{"Prefix": "drop/d/"}])

    def delete():
        call("DeleteObjects.xml")
        r = client.delete_objects(Bucket="lake", Delete={
            "Objects": [{"Key": "a & b"}, {"Key": "raw/c"}]})
        eq("Deleted", r["Deleted"], [{"Key": "a & b"}])
        eq("Errors", r["Errors"], [{"Key": "raw/c", "Code": "AccessDenied",
                                    "Message": "Access Denied"}])

    def errors():
        call("Error-404.xml", 404)
        try:
            client.get_object(Bucket="lake", Key="a <b>")
            raise AssertionError("no ClientError for a 404")
        except ClientError as e:
            err = e.response["Error"]
            eq("Code", err["Code"], "NoSuchKey")
            eq("Message", err["Message"], "The specified key does not exist.")
            eq("Key", err.get("Key"), "a <b>")
            eq("status", e.response["ResponseMetadata"]["HTTPStatusCode"], 404)
        call("Error-403.xml", 403)
        try:
            client.list_objects_v2(Bucket="lake")
            raise AssertionError("no ClientError for a 403")
        except ClientError as e:
            eq("Code", e.response["Error"]["Code"], "AccessDenied")
            eq("Message", e.response["Error"]["Message"], "Request has expired")

    for name, fn in [("ListObjectsV2", list_v2), ("ListObjects", list_v1),
                     ("ListBuckets", list_buckets), ("GetBucketLocation", location),
                     ("CopyObject+UploadPartCopy", copy), ("MultipartUpload", multipart),
                     ("ListParts", list_parts), ("ListMultipartUploads", list_uploads),
                     ("DeleteObjects", delete), ("Error", errors)]:
        check(name, fn)
    print("botocore %s %s: %d failed" % (botocore.__version__, sys.argv[1], failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
