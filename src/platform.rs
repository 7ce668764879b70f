//! Which platforms are real: the os/arch pairs Go targets, and the CPU variants real images carry.
//!
//! The Go manifest-tool accepts only a strict variant list (arm v6/v7/v8, arm64 v8). Images built
//! today also carry arm64 v8.x/v9.x, amd64 v2–v4 and riscv64 profiles, so we accept those, and
//! still refuse an os/arch pair no toolchain builds for (a typo such as linux/amd46).

use crate::manifest::Platform;

/// Every os/arch pair Go (and so the container ecosystem) builds for.
const OS_ARCH: &[(&str, &[&str])] = &[
    ("aix", &["ppc64"]),
    ("android", &["386", "amd64", "arm", "arm64"]),
    ("darwin", &["amd64", "arm64"]),
    ("dragonfly", &["amd64"]),
    ("freebsd", &["386", "amd64", "arm", "arm64", "riscv64"]),
    ("illumos", &["amd64"]),
    ("ios", &["amd64", "arm64"]),
    ("js", &["wasm"]),
    (
        "linux",
        &[
            "386", "amd64", "arm", "arm64", "loong64", "mips", "mips64", "mips64le", "mipsle",
            "ppc64", "ppc64le", "riscv64", "s390x",
        ],
    ),
    ("netbsd", &["386", "amd64", "arm", "arm64"]),
    (
        "openbsd",
        &["386", "amd64", "arm", "arm64", "ppc64", "riscv64"],
    ),
    ("plan9", &["386", "amd64", "arm"]),
    ("solaris", &["amd64"]),
    ("wasip1", &["wasm"]),
    ("windows", &["386", "amd64", "arm", "arm64"]),
];

/// Parse `os/arch[/variant]` as typed in `--platforms`.
pub fn parse(text: &str) -> Result<Platform, String> {
    let parts: Vec<&str> = text.split('/').collect();
    let (os, architecture, variant) = match parts.as_slice() {
        [os, arch] => (*os, *arch, ""),
        [os, arch, variant] => (*os, *arch, *variant),
        _ => {
            return Err(format!(
                "platform {text:?} is not of the form os/arch[/variant]"
            ));
        }
    };
    if os.is_empty() || architecture.is_empty() || (parts.len() == 3 && variant.is_empty()) {
        return Err(format!("platform {text:?} has an empty part"));
    }
    Ok(Platform {
        os: os.to_string(),
        architecture: architecture.to_string(),
        variant: variant.to_string(),
        ..Platform::default()
    })
}

/// Check that `platform` names a real os/arch pair and, if it has one, a variant that exists
/// for that architecture.
pub fn validate(platform: &Platform) -> Result<(), String> {
    let pair = format!("{}/{}", platform.os, platform.architecture);
    let known = OS_ARCH
        .iter()
        .any(|(os, arches)| *os == platform.os && arches.contains(&platform.architecture.as_str()));
    if !known {
        return Err(format!("{pair} is not a known os/arch combination"));
    }
    let variant = platform.variant.as_str();
    if variant.is_empty() || is_known_variant(&platform.architecture, variant) {
        Ok(())
    } else {
        Err(format!(
            "variant {variant:?} is not a known variant of architecture {}",
            platform.architecture
        ))
    }
}

fn is_known_variant(architecture: &str, variant: &str) -> bool {
    match architecture {
        "arm" => matches!(variant, "v5" | "v6" | "v7" | "v8"),
        "arm64" => is_arm64_version(variant),
        "amd64" => matches!(variant, "v1" | "v2" | "v3" | "v4"),
        "riscv64" => matches!(variant, "rva20u64" | "rva22u64" | "rva23u64"),
        "ppc64le" | "ppc64" => matches!(variant, "power8" | "power9" | "power10"),
        "386" => matches!(variant, "sse2" | "softfloat"),
        _ => false,
    }
}

/// `v8`, `v9` and their point releases `v8.0`–`v8.9`, `v9.0`–`v9.9`.
fn is_arm64_version(variant: &str) -> bool {
    let Some(rest) = variant.strip_prefix('v') else {
        return false;
    };
    let (major, minor) = rest.split_once('.').unwrap_or((rest, "0"));
    matches!(major, "8" | "9") && minor.len() == 1 && minor.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn platform(os: &str, arch: &str, variant: &str) -> Platform {
        Platform {
            os: os.into(),
            architecture: arch.into(),
            variant: variant.into(),
            ..Platform::default()
        }
    }

    #[test]
    fn real_platforms_and_variants_are_accepted() {
        let real = "linux/amd64 linux/arm/v5 linux/arm/v7 linux/arm64/v8 linux/arm64/v8.2 \
            linux/arm64/v9 linux/amd64/v3 linux/riscv64/rva22u64 linux/ppc64le/power9 \
            aix/ppc64/power8 linux/386/sse2 linux/s390x windows/amd64";
        for name in real.split_whitespace() {
            let parsed = parse(name).expect(name);
            assert_eq!(validate(&parsed), Ok(()), "{name}");
        }
    }

    #[test]
    fn unreal_pairs_and_variants_are_refused_with_the_value_in_the_message() {
        assert_eq!(
            validate(&platform("linux", "amd46", "")),
            Err("linux/amd46 is not a known os/arch combination".to_string())
        );
        assert_eq!(
            validate(&platform("windows", "s390x", "")),
            Err("windows/s390x is not a known os/arch combination".to_string())
        );
        let err = validate(&platform("linux", "arm", "v9")).unwrap_err();
        assert!(err.contains("\"v9\"") && err.contains("arm"), "{err}");
        assert!(validate(&platform("linux", "arm64", "v8.10")).is_err());
        assert!(validate(&platform("linux", "s390x", "z15")).is_err());
    }

    #[test]
    fn platform_strings_parse_with_an_optional_variant() {
        assert_eq!(parse("linux/arm/v7"), Ok(platform("linux", "arm", "v7")));
        assert_eq!(parse("linux/amd64"), Ok(platform("linux", "amd64", "")));
        assert!(parse("linux").unwrap_err().contains("os/arch[/variant]"));
        assert!(parse("linux/arm/v7/x").is_err());
        assert!(parse("linux//v7").unwrap_err().contains("empty"));
    }
}
