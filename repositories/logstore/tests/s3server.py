"""A real S3 endpoint on loopback for tests: moto's server mode (HTTP, any key pair)."""

import logging
import uuid
from dataclasses import dataclass

import boto3
from moto.server import ThreadedMotoServer

KEY_ID, SECRET = "AKIDTESTLOGREPO", "test-secret-access-key"


@dataclass
class S3Server:
    endpoint_url: str
    server: ThreadedMotoServer

    def client(self):
        return boto3.client("s3", endpoint_url=self.endpoint_url, region_name="us-east-1",
                            aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET)

    def new_bucket(self, *, object_lock: bool = False) -> str:
        name = f"logs-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name, ObjectLockEnabledForBucket=object_lock)
        return name

    def spec(self, bucket: str, **extra) -> dict:
        return {"kind": "s3", "endpoint_url": self.endpoint_url, "bucket": bucket, "prefix": "", "region": "us-east-1",
                "access_key_id": KEY_ID, "secret_access_key": SECRET, "path_style": True, **extra}


def start() -> S3Server:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one request line per call otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return S3Server(f"http://{host}:{port}", server)
