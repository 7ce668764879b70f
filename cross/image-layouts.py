#!/usr/bin/env python3
"""Write one single-platform image of manifest-tool per Linux release binary, into an OCI layout.

Usage: image-layouts.py DIST OUT_DIR

For every DIST/manifest-tool-linux-ARCH (the release asset names), OUT_DIR gets an image
tagged linux-ARCH (org.opencontainers.image.ref.name): FROM scratch, one gzip'd tar layer
holding the binary as /manifest-tool (mode 0755, owner 0:0), the entrypoint ["/manifest-tool"],
and the platform of that asset (arm: variant v5, v6 or v7; arm64: v8). It prints one line
per image, "TAG OS/ARCH[/VARIANT]", for the spec that joins them into one index.

Byte-identical for the same binaries: fixed tar metadata (mtime SOURCE_DATE_EPOCH, or 0),
gzip mtime 0, fixed JSON key order, and a "created" time of SOURCE_DATE_EPOCH.
Only the standard library is used.
"""

import datetime
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"

# Release asset suffix -> (architecture, variant), as the OCI image index spec names them.
PLATFORMS = {
    "linux-amd64": ("amd64", None),
    "linux-386": ("386", None),
    "linux-armv5": ("arm", "v5"),
    "linux-armv6": ("arm", "v6"),
    "linux-armv7": ("arm", "v7"),
    "linux-arm64": ("arm64", "v8"),
    "linux-ppc64le": ("ppc64le", None),
    "linux-s390x": ("s390x", None),
    "linux-riscv64": ("riscv64", None),
    "linux-loong64": ("loong64", None),
    "linux-mips64le": ("mips64le", None),
}


def json_bytes(value):
    return json.dumps(value, separators=(",", ":")).encode()


def sha256_digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def add_blob(out, media_type, data):
    """Stores data in OUT/blobs/sha256 and returns its descriptor."""
    digest = sha256_digest(data)
    with open(os.path.join(out, "blobs", "sha256", digest[7:]), "wb") as f:
        f.write(data)
    return {"mediaType": media_type, "digest": digest, "size": len(data)}


def layer_tar(binary, mtime):
    """An uncompressed tar holding the binary as manifest-tool, with fixed metadata."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo("manifest-tool")
        info.size, info.mode, info.mtime = len(binary), 0o755, mtime
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        tar.addfile(info, io.BytesIO(binary))
    return buf.getvalue()


def add_image(out, binary, arch, variant, epoch):
    """One image: the layer, its config and its manifest; returns the manifest's descriptor."""
    tar = layer_tar(binary, epoch)
    layer = add_blob(out, OCI_LAYER_GZIP, gzip.compress(tar, mtime=0))
    created = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc)
    config = {"created": created.strftime("%Y-%m-%dT%H:%M:%SZ"), "architecture": arch, "os": "linux"}
    if variant:
        config["variant"] = variant
    config["config"] = {"Entrypoint": ["/manifest-tool"]}
    config["rootfs"] = {"type": "layers", "diff_ids": [sha256_digest(tar)]}
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": add_blob(out, OCI_CONFIG, json_bytes(config)),
        "layers": [layer],
    }
    return add_blob(out, OCI_MANIFEST, json_bytes(manifest))


def main(argv):
    if len(argv) != 3 or argv[1].startswith("-"):
        sys.stderr.write("usage: image-layouts.py DIST OUT_DIR\n")
        return 2
    dist, out = argv[1], argv[2]
    try:
        epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
    except ValueError:
        sys.stderr.write("SOURCE_DATE_EPOCH is not a number of seconds\n")
        return 2
    os.makedirs(os.path.join(out, "blobs", "sha256"), exist_ok=True)
    top = []
    for tag, (arch, variant) in PLATFORMS.items():
        path = os.path.join(dist, "manifest-tool-" + tag)
        if not os.path.isfile(path):
            continue
        with open(path, "rb") as f:
            descriptor = add_image(out, f.read(), arch, variant, epoch)
        descriptor["annotations"] = {"org.opencontainers.image.ref.name": tag}
        top.append(descriptor)
        print(tag, "/".join(p for p in ("linux", arch, variant) if p))
    if not top:
        sys.stderr.write(f"no manifest-tool-linux-* binaries in {dist}\n")
        return 1
    with open(os.path.join(out, "oci-layout"), "wb") as f:
        f.write(json_bytes({"imageLayoutVersion": "1.0.0"}))
    with open(os.path.join(out, "index.json"), "wb") as f:  # last: its presence means complete
        f.write(json_bytes({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": top}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
