//! The fuzz corpus as regression inputs: every file of `fuzz/corpus/<target>/` goes through the
//! same checks as the fuzz target of that name (`fuzz/checks.rs`), on stable and in `cargo test`,
//! so seeds and past crashes keep being checked without cargo-fuzz or nightly.

// Black-box tests of the Unix build; cross/smoke-windows.sh runs the Windows one.
#![cfg(unix)]

#[path = "../fuzz/checks.rs"]
mod checks;

use std::path::Path;

#[test]
fn every_fuzz_corpus_input_passes_its_target_checks() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    for (target, check) in checks::TARGETS {
        let dir = corpus.join(target);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.unwrap().path())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "{}: no corpus inputs", dir.display());
        for file in files {
            let data = std::fs::read(&file).unwrap();
            let outcome = std::panic::catch_unwind(|| check(&data));
            assert!(
                outcome.is_ok(),
                "{target}: {} fails its checks",
                file.display()
            );
        }
    }
}
