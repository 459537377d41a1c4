//! The benchmark scripts' own parts that can rot without a benchmark run.

/// `benches/record_ceiling.sh` patches the source it measures
/// (`benches/record_ceiling.patch`: the record made free): the patch must
/// still apply to this source, or the README's ceiling cannot be
/// reproduced (the script would stop at `git apply`).
#[test]
fn the_record_ceiling_patch_applies_to_this_source() {
    let root = env!("CARGO_MANIFEST_DIR");
    let checked = std::process::Command::new("git")
        .args(["apply", "--check", "benches/record_ceiling.patch"])
        .current_dir(root)
        .output()
        .expect("git runs");
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stderr)
    );
}
