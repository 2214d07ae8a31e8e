#!/usr/bin/env python3
"""rclone (copy, sync, check) and s3cmd (put, get, ls) against the S3 API,
unchanged, given an endpoint and a key pair."""
import os
import subprocess

from tarnlib import Lake, ROOT_PASSWORD, ROOT_USER, check, eq, run, test

QUIET = {"catalog.crawl_delay": "3600000ms", "catalog.crawl_interval": "0"}


def tree(root, files):
    for name, data in files.items():
        p = os.path.join(root, name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)


@test
def rclone_copy_sync_check():
    lake = Lake(settings=QUIET).start()
    try:
        conf = os.path.join(lake.tmp, "rclone.conf")
        with open(conf, "w") as f:
            f.write("[tarn]\ntype = s3\nprovider = Other\nenv_auth = false\n"
                    f"access_key_id = {ROOT_USER}\nsecret_access_key = {ROOT_PASSWORD}\n"
                    f"endpoint = http://127.0.0.1:{lake.s3_port}\nregion = us-east-1\n"
                    "force_path_style = true\n")
        src = os.path.join(lake.tmp, "src")
        tree(src, {"a.csv": b"id\n1\n", "sub/b.json": b'{"x": 1}\n',
                   "big.bin": os.urandom(20 << 20)})

        def rc(*args):
            env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
            out = subprocess.run(["rclone", "--config", conf, "--s3-upload-cutoff", "8M",
                                  "--s3-chunk-size", "5M", *args], capture_output=True,
                                 text=True, timeout=300, env=env)
            return out
        out = rc("copy", src, "tarn:lake/04-user-drop-zone/rc")
        eq(out.returncode, 0, f"rclone copy: {out.stderr}")
        out = rc("check", src, "tarn:lake/04-user-drop-zone/rc")
        eq(out.returncode, 0, f"rclone check: {out.stderr}")
        with open(os.path.join(lake.dir, "04-user-drop-zone/rc/big.bin"), "rb") as f, \
                open(os.path.join(src, "big.bin"), "rb") as g:
            check(f.read() == g.read(), "the 20 MiB file (multipart) byte for byte")
        os.remove(os.path.join(src, "a.csv"))
        tree(src, {"c.csv": b"id\n3\n"})
        out = rc("sync", src, "tarn:lake/04-user-drop-zone/rc")
        eq(out.returncode, 0, f"rclone sync: {out.stderr}")
        check(not os.path.exists(os.path.join(lake.dir, "04-user-drop-zone/rc/a.csv")),
              "sync deleted what the source no longer has")
        check(os.path.exists(os.path.join(lake.dir, "04-user-drop-zone/rc/c.csv")), "sync added")
        out = rc("check", src, "tarn:lake/04-user-drop-zone/rc")
        eq(out.returncode, 0, f"rclone check after sync: {out.stderr}")
        out = rc("lsf", "-R", "tarn:lake/04-user-drop-zone/rc")
        eq(sorted(out.stdout.split()), ["big.bin", "c.csv", "sub/", "sub/b.json"], "lsf")
    finally:
        lake.stop()


@test
def s3cmd_put_get_ls():
    lake = Lake(settings=QUIET).start()
    try:
        cfg = os.path.join(lake.tmp, "s3cfg")
        with open(cfg, "w") as f:
            f.write(f"[default]\naccess_key = {ROOT_USER}\nsecret_key = {ROOT_PASSWORD}\n"
                    f"host_base = 127.0.0.1:{lake.s3_port}\n"
                    f"host_bucket = 127.0.0.1:{lake.s3_port}\n"
                    "use_https = False\nsignature_v2 = False\nbucket_location = us-east-1\n")
        src = os.path.join(lake.tmp, "up.csv")
        with open(src, "w") as f:
            f.write("id,name\n1,Ann\n")

        def s3cmd(*args):
            out = subprocess.run(["s3cmd", "-c", cfg, *args], capture_output=True, text=True,
                                 timeout=120)
            eq(out.returncode, 0, f"s3cmd {args}: {out.stdout}{out.stderr}")
            return out.stdout
        s3cmd("put", src, "s3://lake/04-user-drop-zone/s3cmd/up.csv")
        out = s3cmd("ls", "s3://lake/04-user-drop-zone/s3cmd/")
        check("s3://lake/04-user-drop-zone/s3cmd/up.csv" in out, out)
        out = s3cmd("ls")
        check("s3://lake" in out, out)
        dst = os.path.join(lake.tmp, "down.csv")
        s3cmd("get", "s3://lake/04-user-drop-zone/s3cmd/up.csv", dst)
        eq(open(dst).read(), "id,name\n1,Ann\n", "s3cmd get")
    finally:
        lake.stop()


if __name__ == "__main__":
    run()
