//! What `#[managed]` and `#[task]` reject, and the messages they give: every file under
//! `ui/fail` must fail to compile with the errors in its `.stderr` file, every file under
//! `ui/pass` must compile. `TRYBUILD=overwrite cargo test -p darkstar-sdk --test
//! compile_fail` rewrites the `.stderr` files after a deliberate change of message.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/fail/*.rs");
    cases.pass("tests/ui/pass/*.rs");
}
