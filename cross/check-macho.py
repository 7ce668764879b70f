#!/usr/bin/env python3
"""Check a macOS release binary without a Mac: CPU, minimum macOS, libraries, signature.

usage: check-macho.py FILE ARCH MIN_MACOS      e.g. check-macho.py dist/x darwin-arm64 11.0
  ARCH is amd64 or arm64.

Reads the Mach-O header and load commands (standard library only) and fails unless:
  - it is a thin 64-bit Mach-O executable for that CPU;
  - the minimum macOS (LC_BUILD_VERSION, or the older LC_VERSION_MIN_MACOSX) is exactly
    MIN_MACOS: lower would mean a wrong deployment target, higher would refuse to run on
    the macOS versions we promise;
  - every linked library is a system one (/usr/lib or /System), present on every Mac;
  - an arm64 binary carries a code signature (Apple Silicon kills unsigned binaries; zig's
    linker adds an ad-hoc one).
Prints one line describing the binary on success.
"""

import struct
import sys

MH_MAGIC_64 = 0xFEEDFACF
MH_EXECUTE = 2
CPU_TYPES = {"amd64": 0x01000007, "arm64": 0x0100000C}
LC_LOAD_DYLIB = 0x0C
LC_CODE_SIGNATURE = 0x1D
LC_VERSION_MIN_MACOSX = 0x24
LC_BUILD_VERSION = 0x32
LC_REQ_DYLD = 0x80000000
PLATFORM_MACOS = 1


def version(packed):
    """Mach-O packs X.Y.Z as xxxx.yy.zz in 32 bits."""
    major, minor, patch = packed >> 16, (packed >> 8) & 0xFF, packed & 0xFF
    return f"{major}.{minor}" + (f".{patch}" if patch else "")


def inspect(data):
    """Returns (cputype, filetype, min_macos, dylibs, signed) from a thin 64-bit Mach-O."""
    if len(data) < 32 or struct.unpack_from("<I", data)[0] != MH_MAGIC_64:
        raise ValueError("not a thin little-endian 64-bit Mach-O file")
    _, cputype, _, filetype, ncmds, _, _, _ = struct.unpack_from("<IiiIIIII", data)
    min_macos, dylibs, signed = None, [], False
    offset = 32
    for _ in range(ncmds):
        cmd, size = struct.unpack_from("<II", data, offset)
        cmd &= ~LC_REQ_DYLD
        if cmd == LC_BUILD_VERSION:
            platform, minos = struct.unpack_from("<II", data, offset + 8)
            if platform != PLATFORM_MACOS:
                raise ValueError(f"LC_BUILD_VERSION names platform {platform}, not macOS")
            min_macos = version(minos)
        elif cmd == LC_VERSION_MIN_MACOSX:
            min_macos = version(struct.unpack_from("<I", data, offset + 8)[0])
        elif cmd == LC_LOAD_DYLIB:
            name_offset = struct.unpack_from("<I", data, offset + 8)[0]
            name = data[offset + name_offset : offset + size].split(b"\0")[0]
            dylibs.append(name.decode())
        elif cmd == LC_CODE_SIGNATURE:
            signed = True
        offset += size
    return cputype, filetype, min_macos, dylibs, signed


def main():
    if len(sys.argv) != 4 or sys.argv[2] not in CPU_TYPES:
        sys.exit(__doc__.split("\n\n")[1])
    path, arch, want_min = sys.argv[1:]
    with open(path, "rb") as f:
        data = f.read()
    try:
        cputype, filetype, min_macos, dylibs, signed = inspect(data)
    except (ValueError, struct.error) as e:
        sys.exit(f"{path}: {e}")
    problems = []
    if cputype != CPU_TYPES[arch]:
        problems.append(f"CPU type {cputype:#x}, expected {CPU_TYPES[arch]:#x} ({arch})")
    if filetype != MH_EXECUTE:
        problems.append(f"file type {filetype}, expected an executable ({MH_EXECUTE})")
    if min_macos != want_min:
        problems.append(f"minimum macOS {min_macos}, expected {want_min}")
    foreign = [d for d in dylibs if not d.startswith(("/usr/lib/", "/System/"))]
    if foreign:
        problems.append(f"links non-system libraries: {', '.join(foreign)}")
    if arch == "arm64" and not signed:
        problems.append("no code signature (arm64 macOS refuses to run it)")
    if problems:
        sys.exit(f"{path}: " + "; ".join(problems))
    print(
        f"{path}: Mach-O {arch} executable, minimum macOS {min_macos}, "
        f"links {', '.join(dylibs) or 'nothing'}, {'signed' if signed else 'unsigned'}"
    )


if __name__ == "__main__":
    main()
