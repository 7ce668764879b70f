#!/usr/bin/env python3
"""Write a small, deterministic OCI image layout for tests and demos.

Usage: make_layout.py OUT_DIR

OUT_DIR becomes an OCI image layout (oci-layout, index.json, blobs/sha256/)
with these tags (org.opencontainers.image.ref.name):

  linux-amd64 linux-arm-v7 linux-arm64-v8 linux-ppc64le linux-s390x windows-amd64
      one single-platform OCI image each, whose only layer is a gzip'd tar
      holding /hello, a file that contains the platform name
  multi
      an OCI image index of those six images, with their platforms
  attested
      an OCI image index of linux/amd64 and linux/arm64/v8 plus one in-toto
      attestation manifest per image, laid out the way docker buildx does

Only the standard library is used, and the output is byte-identical across
runs (fixed tar metadata, gzip mtime 0, fixed JSON key order).
"""

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
IN_TOTO = "application/vnd.in-toto+json"
SLSA_PROVENANCE = "https://slsa.dev/provenance/v0.2"
WINDOWS_VERSION = "10.0.17763.2565"

# (tag, os, architecture, variant)
PLATFORMS = [
    ("linux-amd64", "linux", "amd64", None),
    ("linux-arm-v7", "linux", "arm", "v7"),
    ("linux-arm64-v8", "linux", "arm64", "v8"),
    ("linux-ppc64le", "linux", "ppc64le", None),
    ("linux-s390x", "linux", "s390x", None),
    ("windows-amd64", "windows", "amd64", None),
]


def json_bytes(value):
    return json.dumps(value, separators=(",", ":")).encode()


def sha256_digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def add_blob(out, media_type, data, **extra):
    """Stores data in OUT/blobs/sha256 and returns its descriptor (plus the extra fields)."""
    digest = sha256_digest(data)
    with open(os.path.join(out, "blobs", "sha256", digest[7:]), "wb") as f:
        f.write(data)
    return {"mediaType": media_type, "digest": digest, "size": len(data), **extra}


def add_manifest(out, config, layer, **extra):
    """Stores an OCI image manifest with one layer and returns its descriptor."""
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": add_blob(out, OCI_CONFIG, json_bytes(config)),
        "layers": [layer],
    }
    return add_blob(out, OCI_MANIFEST, json_bytes(manifest), **extra)


def index_of(descriptors):
    return {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": descriptors}


def tar_with_file(name, content):
    """An uncompressed tar holding one regular file with fixed metadata."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = len(content), 0o644, 0
        info.uname = info.gname = "root"
        tar.addfile(info, io.BytesIO(content))
    return buf.getvalue()


def platform_of(os_name, arch, variant):
    platform = {"architecture": arch, "os": os_name}
    if variant:
        platform["variant"] = variant
    if os_name == "windows":
        platform["os.version"] = WINDOWS_VERSION
    return platform


def add_image(out, os_name, arch, variant):
    """One image (a /hello layer, its config, its manifest); returns the manifest's descriptor."""
    name = "/".join(p for p in (os_name, arch, variant) if p)
    layer_tar = tar_with_file("hello", (name + "\n").encode())
    layer = add_blob(out, OCI_LAYER_GZIP, gzip.compress(layer_tar, mtime=0))
    config = {"created": "2024-01-01T00:00:00Z", **platform_of(os_name, arch, variant)}
    if os_name == "windows":
        config["os.features"] = ["win32k"]
    config["config"] = {"Cmd": ["/hello"]}
    config["rootfs"] = {"type": "layers", "diff_ids": [sha256_digest(layer_tar)]}
    return add_manifest(out, config, layer)


def add_attestation(out, image):
    """A provenance attestation of `image`, shaped like the manifests docker buildx pushes."""
    statement = json_bytes({
        "_type": "https://in-toto.io/Statement/v0.1",
        "predicateType": SLSA_PROVENANCE,
        "subject": [{"name": "pkg:docker/attested", "digest": {"sha256": image["digest"][7:]}}],
        "predicate": {"builder": {"id": "make_layout.py"}, "buildType": "test"},
    })
    predicate_type = {"in-toto.io/predicate-type": SLSA_PROVENANCE}
    layer = add_blob(out, IN_TOTO, statement, annotations=predicate_type)
    config = {
        "architecture": "unknown",
        "os": "unknown",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": [sha256_digest(statement)]},
    }
    annotations = {
        "vnd.docker.reference.digest": image["digest"],
        "vnd.docker.reference.type": "attestation-manifest",
    }
    platform = {"architecture": "unknown", "os": "unknown"}
    return add_manifest(out, config, layer, annotations=annotations, platform=platform)


def write_layout(out):
    os.makedirs(os.path.join(out, "blobs", "sha256"), exist_ok=True)
    images = {}  # tag -> manifest descriptor with its platform
    for tag, os_name, arch, variant in PLATFORMS:
        platform = platform_of(os_name, arch, variant)
        images[tag] = {**add_image(out, os_name, arch, variant), "platform": platform}
    attested = [images["linux-amd64"], images["linux-arm64-v8"]]
    indexes = {
        "multi": index_of(list(images.values())),
        "attested": index_of(attested + [add_attestation(out, image) for image in attested]),
    }
    tagged = list(images.items())
    tagged += [(tag, add_blob(out, OCI_INDEX, json_bytes(index))) for tag, index in indexes.items()]
    top = [
        {"mediaType": d["mediaType"], "digest": d["digest"], "size": d["size"],
         "annotations": {"org.opencontainers.image.ref.name": tag}}
        for tag, d in tagged
    ]
    with open(os.path.join(out, "oci-layout"), "wb") as f:
        f.write(json_bytes({"imageLayoutVersion": "1.0.0"}))
    with open(os.path.join(out, "index.json"), "wb") as f:  # last: its presence means complete
        f.write(json_bytes(index_of(top)))


def main(argv):
    if argv[1:] in (["-h"], ["--help"]):
        print(__doc__)
        return 0
    if len(argv) != 2 or argv[1].startswith("-"):
        sys.stderr.write("usage: make_layout.py OUT_DIR (see --help)\n")
        return 2
    write_layout(argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
