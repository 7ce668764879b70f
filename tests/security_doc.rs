//! The attack tables of `docs/security.md`, written from one list: each attack, what the tool
//! does about it, and the tests that show it. `make test` checks that the document says what
//! this list says and that every test it names exists, is a `#[test]` and is not ignored, so the
//! document cannot point at a test that was renamed or dropped. `make security-doc` rewrites
//! the tables after a change to the list.

// Black-box tests of the Unix build; cross/smoke-windows.sh runs the Windows one.
#![cfg(unix)]

mod support;

use support::GeneratedDoc;

/// `docs/security.md`, whose tables this file writes.
const SECURITY_DOC: GeneratedDoc = GeneratedDoc {
    path: "docs/security.md",
    generator: "tests/security_doc.rs",
    make_target: "security-doc",
};

/// One attack and the defence against it.
struct Attack {
    /// What someone we do not control tries.
    attack: &'static str,
    /// What manifest-tool does instead of what the attacker wants.
    defence: &'static str,
    /// The tests that show it: `FILE::test` for `tests/FILE.rs`, or the path of a unit test in
    /// `src/` (`digest::tests::name`).
    tests: &'static [&'static str],
}

/// Registries, token servers and the hosts they redirect to.
const NETWORK: &[Attack] = &[
    Attack {
        attack: "a blob redirected to a storage host that answers 401 with a realm of its own",
        defence: "the 401 is an error naming that host; no credentials go to the realm, and it is \
                  not remembered as the registry's scheme",
        tests: &["secrets::a_401_from_a_host_the_registry_redirects_to_gets_no_credentials"],
    },
    Attack {
        attack: "a redirect to another port or host, carrying the request on",
        defence: "followed without the credentials: they go only to the registry they are for",
        tests: &["secrets::a_redirect_to_another_port_never_carries_the_credentials"],
    },
    Attack {
        attack: "an https registry redirecting a request (a blob GET, a token fetch) to plain \
                 `http://`",
        defence: "refused with one line naming the registry and the http host (never the URL's \
                  query); the http host gets no request. With `--plain-http` or `--insecure` the \
                  redirect is followed, without credentials (another origin)",
        tests: &["secrets::an_https_registry_redirecting_to_plain_http_is_refused_unless_insecure"],
    },
    Attack {
        attack: "an https registry whose token realm or upload location is plain `http://`",
        defence: "no credentials go there unless `--insecure`",
        tests: &[
            "secrets::a_plain_http_token_realm_of_an_https_registry_gets_nothing_unless_insecure",
            "secrets::credentials_never_go_to_a_plain_http_upload_location_of_an_https_registry",
        ],
    },
    Attack {
        attack: "credentials (Basic, a Bearer token, the Basic or identity token sent to a token \
                 realm, an upload's `Authorization`) about to go over plain `http://` to a host \
                 that is not loopback (`localhost`, 127.0.0.0/8, `::1`, judged by the host as \
                 written)",
        defence: "one line on stderr per host and run, before the first such request: `warning: \
                  sending credentials for REGISTRY over plain http to HOST`; loopback stays silent",
        tests: &[
            "plain_http::credentials_over_plain_http_to_a_host_that_is_not_loopback_cost_one_warning",
            "registry::transport::tests::loopback_is_localhost_127_slash_8_and_v6_one_as_written",
        ],
    },
    Attack {
        attack: "a registry whose certificate does not verify",
        defence: "nothing is pushed to it, and no credentials are sent, unless `--insecure`",
        tests: &["secrets::an_unverified_registry_gets_no_push_unless_insecure"],
    },
    Attack {
        attack: "a list entry whose digest climbs out of the repository (`sha256:../..`), carries \
                 a query, or uses upper-case hex",
        defence: "refused as the list is read, before any request is made with it",
        tests: &[
            "hostile::a_list_entry_whose_digest_is_not_a_digest_is_refused_before_any_request",
        ],
    },
    Attack {
        attack: "a list entry whose size is not its child's",
        defence: "refused, not copied into the list pushed; nothing is written",
        tests: &["hostile::a_list_entry_with_a_wrong_size_is_not_copied"],
    },
    Attack {
        attack: "content that does not hash to the digest it was asked for, whatever \
                 `Docker-Content-Digest` says",
        defence: "an error naming the digest expected and the one found; nothing is written with it",
        tests: &[
            "secrets::content_that_does_not_match_its_digest_is_an_error",
            "inspect::a_manifest_fetched_by_digest_must_hash_to_it_whatever_the_header_says",
        ],
    },
    Attack {
        attack: "sha512 content",
        defence: "verified like sha256 with its own algorithm, when fetched and when a layout \
                  writes it; a child named by sha512 is written under `blobs/sha512/`",
        tests: &[
            "digest::tests::verify_names_the_digest_the_bytes_have",
            "digest::tests::a_hasher_fed_in_pieces_gives_the_digest_of_the_whole",
            "hostile_layout::a_child_referenced_by_sha512_stays_readable_in_the_layout_it_is_written_to",
        ],
    },
    Attack {
        attack: "a manifest, an error body or a token answer without end",
        defence: "refused at its cap (4 MiB manifests, 1 MiB token answers, 64 KiB error bodies) \
                  without being read whole",
        tests: &[
            "secrets::oversized_manifests_and_error_bodies_are_refused_without_reading_them_whole",
            "secrets::an_oversized_token_answer_is_refused_without_reading_it_whole",
        ],
    },
    Attack {
        attack: "headers, a manifest or a token trickled a byte at a time",
        defence: "headers must be complete within the I/O timeout; a body must average 64 KiB/s \
                  once the I/O timeout has passed (`src/registry/pace.rs`); the run ends in one \
                  line",
        tests: &["hostile::a_server_trickling_its_answer_is_given_up_on"],
    },
    Attack {
        attack: "a token with `expires_in` of 0, negative or fractional",
        defence: "counted as 60 s, as docker/distribution does: one token for the run",
        tests: &["faults::any_token_lifetime_the_server_claims_is_survived"],
    },
];

/// OCI layout directories someone else made or shares.
const LAYOUTS: &[Attack] = &[
    Attack {
        attack: "symlinks planted at the names of a push's temp files, pointing at a file \
                 outside the layout, so the push overwrites it",
        defence: "temp files get an unpredictable name (`.tmp-manifest-tool-` and 64 bits from \
                  std's OS-seeded `RandomState`) and are created with `O_CREAT | O_EXCL` plus \
                  `O_NOFOLLOW`: a name that exists, a symlink included, is never opened; another \
                  name is tried (16 at most)",
        tests: &[
            "hostile_layout::a_push_does_not_write_through_symlinks_planted_at_its_temp_file_names",
        ],
    },
    Attack {
        attack: "a blob that is a symlink to a file outside (`~/.ssh/id_rsa`), named by that \
                 file's digest, so a push sends the file to a registry or another layout",
        defence: "every path below the layout root is checked with `symlink_metadata` (a \
                  symlinked `blobs/`, `blobs/sha256` or blob is refused with one line naming the \
                  layout and the blob), and files are opened with `O_NOFOLLOW`; a target layout \
                  with a symlinked `blobs/` is refused before anything is written",
        tests: &[
            "hostile_layout::a_blob_that_is_a_symlink_out_of_the_layout_is_not_sent_anywhere",
            "hostile_layout::a_layout_whose_blobs_directory_is_a_symlink_is_refused",
        ],
    },
    Attack {
        attack: "a FIFO, or a symlink to `/dev/zero`, in place of `oci-layout`, `index.json` or a \
                 blob, to hang the tool or exhaust its memory",
        defence: "files are opened with `O_NONBLOCK` and read only if `fstat` says they are \
                  regular files; reads are capped (`oci-layout` 4 KiB, `index.json` 64 MiB, \
                  manifests 4 MiB)",
        tests: &["hostile_layout::a_fifo_or_dev_zero_in_place_of_a_layout_file_is_refused_at_once"],
    },
    Attack {
        attack: "many runs pushing into one layout at once, each rewriting `index.json`, losing \
                 each other's tags",
        defence: "the read-modify-write of `index.json` (and the creation of a layout) holds an \
                  exclusive `flock` on the layout directory; the wait is bounded at 60 s, and \
                  after 1 s the tool prints `waiting for the lock on PATH/index.json…`",
        tests: &[
            "hostile_layout::concurrent_pushes_into_one_layout_keep_every_tag",
            "hostile_layout::a_push_waiting_for_the_layout_lock_says_so_and_then_succeeds",
        ],
    },
    Attack {
        attack: "runs creating a layout in the same new directory at once, one finding it half \
                 made",
        defence: "an existing target directory is looked at under the same lock, which the run \
                  creating the layout holds from its first file to `oci-layout`: it is seen empty \
                  or complete",
        tests: &["hostile_layout::concurrent_pushes_creating_one_new_layout_all_succeed"],
    },
    Attack {
        attack: "an `index.json` of 100,000 tags, so an error about a missing tag prints \
                 megabytes",
        defence: "the error says how many tags there are and names the first 5",
        tests: &[
            "hostile_layout::a_missing_tag_in_a_layout_of_many_tags_is_reported_in_a_short_line",
        ],
    },
];

/// What a registry or token server we do not control makes the tool print.
const OUTPUT: &[Attack] = &[
    Attack {
        attack: "an error that quotes a credential back: the password, the Basic \
                 `Authorization` value, an identity token, a bearer token",
        defence: "every secret is registered as it is sent, and every line printed from outside \
                  data goes through `redact` (`src/redact.rs`): the secret as it is, URL-encoded \
                  and in base64 at any alignment becomes `<redacted>`",
        tests: &[
            "secrets::a_registry_quoting_the_credentials_in_its_error_gets_them_redacted",
            "secrets::a_token_server_quoting_the_credentials_in_its_error_gets_them_redacted",
            "secrets::no_secret_is_shown_when_the_token_server_fails",
        ],
    },
    Attack {
        attack: "a failure at any step of a run with credentials, with `--debug` on",
        defence: "no secret and no URL query (a signed storage URL) in any output",
        tests: &[
            "secrets::no_secret_is_shown_with_basic_auth_whatever_the_source_and_outcome",
            "secrets::no_token_or_secret_is_shown_with_token_auth_whatever_the_source_and_outcome",
            "secrets::no_secret_is_shown_when_a_push_fails_half_way",
            "secrets::debug_output_never_shows_a_urls_query",
        ],
    },
    Attack {
        attack: "terminal escapes, carriage returns, C1 controls or bidirectional overrides in a \
                 platform, an annotation, a media type or an error message",
        defence: "the `inspect` text layout, the error line and `--debug` lines write each one \
                  escaped, visibly (`\\x1b`, `\\r`, `\\u{9b}`, `\\u{202e}`), through one \
                  `escape_controls` (`src/escape.rs`); JSON output escapes C0 controls; \
                  `--format verbatim` prints the exact bytes served, as asked",
        tests: &[
            "inspect::control_characters_a_registry_serves_are_shown_escaped",
            "inspect::control_characters_in_a_registry_error_are_shown_escaped",
        ],
    },
];

/// Credential helpers, docker config files and push specs someone else wrote.
const INPUTS: &[Attack] = &[
    Attack {
        attack: "a `docker-credential-*` helper that never answers",
        defence: "it runs in a process group of its own; after 30 s \
                  (`MANIFEST_TOOL_HELPER_TIMEOUT_SECS`) the whole group is killed and the run \
                  fails naming the helper and the timeout",
        tests: &[
            "hostile_inputs::a_credential_helper_that_never_answers_is_stopped_after_the_helper_timeout",
        ],
    },
    Attack {
        attack: "a helper that leaves a background child holding its stdout open",
        defence: "its answer is read up to the helper's exit, not to the end of its output",
        tests: &[
            "hostile_inputs::a_credential_helper_whose_background_child_keeps_its_output_open_still_answers",
        ],
    },
    Attack {
        attack: "a helper that prints without end",
        defence: "more than 64 KiB on stdout is refused, naming the helper; at most 64 KiB of \
                  stderr is kept",
        tests: &["hostile_inputs::a_credential_helper_that_prints_10_mb_is_refused"],
    },
    Attack {
        attack: "a `config.json` (or `--docker-cfg`), or a spec, that is a FIFO or a device",
        defence: "refused before it is opened: \"is not a regular file\"",
        tests: &[
            "hostile_inputs::a_docker_config_that_is_a_fifo_is_refused",
            "hostile_inputs::a_spec_that_is_a_fifo_is_refused",
            "hostile_inputs::a_spec_that_is_dev_zero_is_refused",
        ],
    },
    Attack {
        attack: "a huge spec (or `config.json`)",
        defence: "more than 4 MiB (1 MiB) is refused without being read whole",
        tests: &["hostile_inputs::a_spec_larger_than_4_mib_is_refused"],
    },
    Attack {
        attack: "a YAML alias bomb (one large value referenced thousands of times)",
        defence: "a scan of the text before parsing refuses more than 100 aliases; a spec with a \
                  few anchors still works",
        tests: &[
            "hostile_inputs::a_spec_that_expands_one_string_20000_times_is_refused_at_once",
            "hostile_inputs::a_spec_with_a_few_anchors_still_works",
        ],
    },
    Attack {
        attack: "deeply nested YAML (`[[[[…`), which the parser takes minutes over",
        defence: "the same scan refuses nesting deeper than 64 levels",
        tests: &["hostile_inputs::a_deeply_nested_spec_is_refused_at_once"],
    },
];

/// The document's sections, by name.
const SECTIONS: [(&str, &[Attack]); 4] = [
    ("network", NETWORK),
    ("layouts", LAYOUTS),
    ("output", OUTPUT),
    ("inputs", INPUTS),
];

/// One section's table.
fn table(attacks: &[Attack]) -> String {
    let mut out = String::from("| attack | what the tool does | shown by |\n|---|---|---|\n");
    for a in attacks {
        let tests: Vec<String> = a.tests.iter().map(|t| format!("`{t}`")).collect();
        out.push_str(&format!(
            "| {} | {} | {} |\n",
            a.attack,
            a.defence,
            tests.join(", ")
        ));
    }
    out
}

/// The source file a test path names, and the test's name.
fn test_source(path: &str) -> (std::path::PathBuf, &str) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let (module, name) = path.rsplit_once("::").unwrap();
    if let Some(file) = module.strip_suffix("::tests") {
        let base = root.join("src").join(file.replace("::", "/"));
        let flat = base.with_extension("rs");
        return (
            if flat.exists() {
                flat
            } else {
                base.join("mod.rs")
            },
            name,
        );
    }
    (root.join("tests").join(format!("{module}.rs")), name)
}

/// Whether `source` defines `name` as a test that runs: `#[test]` among the attributes just
/// above `fn name(`, and no `#[ignore`.
fn is_running_test(source: &str, name: &str) -> bool {
    let lines: Vec<&str> = source.lines().collect();
    let Some(at) = lines
        .iter()
        .position(|l| l.trim_start().starts_with(&format!("fn {name}(")))
    else {
        return false;
    };
    let attributes: Vec<&str> = lines[..at]
        .iter()
        .rev()
        .map(|l| l.trim())
        .take_while(|l| l.starts_with("#[") || l.starts_with("///"))
        .collect();
    attributes.contains(&"#[test]") && !attributes.iter().any(|a| a.starts_with("#[ignore"))
}

#[test]
fn every_attack_in_the_security_doc_names_tests_that_run() {
    for (_, attacks) in SECTIONS {
        for test in attacks.iter().flat_map(|a| a.tests) {
            let (file, name) = test_source(test);
            let source = std::fs::read_to_string(&file)
                .unwrap_or_else(|e| panic!("{test}: cannot read {}: {e}", file.display()));
            assert!(
                is_running_test(&source, name),
                "docs/security.md names {test}, which is not a test that runs in {}",
                file.display()
            );
        }
    }
}

#[test]
fn the_security_doc_tables_are_current() {
    for (name, attacks) in SECTIONS {
        SECURITY_DOC.check(name, &table(attacks));
    }
}

/// `make security-doc`: rewrite the tables of `docs/security.md` from the lists above.
#[test]
#[ignore = "rewrites docs/security.md; run by `make security-doc`"]
fn regenerate_security_doc() {
    for (name, attacks) in SECTIONS {
        SECURITY_DOC.write(name, &table(attacks));
    }
}

#[test]
fn a_test_path_is_found_only_when_it_is_a_test_that_runs() {
    let source = "#[test]\nfn runs() {}\n\n#[test]\n#[ignore = \"slow\"]\nfn ignored() {}\n\nfn helper() {}\n";
    assert!(is_running_test(source, "runs"));
    assert!(!is_running_test(source, "ignored"));
    assert!(!is_running_test(source, "helper"));
    assert!(!is_running_test(source, "missing"));
}
