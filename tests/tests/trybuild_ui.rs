//! Compile-time guarantees of the typed executors, proven with trybuild: a missing required
//! param, a wrong enum variant and a wrong param type do not compile (with the checked-in
//! messages in `tests/ui/fail/*.stderr`), and the passing cases compile and run, including the
//! golden fixture crate of `tests/golden/rust`.
//!
//! After an intended change of compiler messages: `TRYBUILD=overwrite cargo test -p
//! registry-tests --test trybuild_ui`.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("ui/pass/*.rs");
    cases.compile_fail("ui/fail/*.rs");
}
