//! SCIM conformance: the PyPI package scim2-tester (pinned in `tests/conformance/requirements.txt`,
//! in a virtualenv that `cargo xtask setup` creates) runs against the runner through
//! `tests/conformance/scim2_check.py`: discovery as served, then the CRUD and PATCH checks once per
//! device type and for User, AuthenticatorPolicy and Authenticator. Every check must pass except
//! the ones in [`DOES_NOT_APPLY`], each with its reason; the list is exact, so a listed check that
//! starts passing fails this test too.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use scim_otp_tests::{App, TempDir};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The virtualenv: `SCIM_OTP_SCIM2_VENV`, or the one `cargo xtask setup` makes next to the
/// shared target directory.
fn venv_python() -> PathBuf {
    scim_otp_tests::venv_python("SCIM_OTP_SCIM2_VENV", "scim2-tester-0.5.2")
}

/// Checks that fail by design, as (run, check, start of the tester's reason), and why.
const DOES_NOT_APPLY: &[(&str, &str, &str)] = &[
    // SPEC §3: a PATCH that targets an immutable attribute is 400 `mutability` (RFC 7643 §2.2:
    // immutable attributes SHALL NOT be updated). The tester adds optional immutable attributes
    // to a device created without them, but the server gave them their defaults at creation
    // (SPEC §2: algorithm SHA1, digits 6, period 30), so the add would change them.
    ("TOTP", "check_add_attribute", "Failed to add attribute 'algorithm'"),
    ("TOTP", "check_add_attribute", "Failed to add attribute 'digits'"),
    ("TOTP", "check_add_attribute", "Failed to add attribute 'period'"),
    ("HOTP", "check_add_attribute", "Failed to add attribute 'algorithm'"),
    ("HOTP", "check_add_attribute", "Failed to add attribute 'digits'"),
    ("EMAIL", "check_add_attribute", "Failed to add attribute 'digits'"),
    ("SMS", "check_add_attribute", "Failed to add attribute 'digits'"),
    // A device always has a status and a failure count (SPEC §2, §5), so neither can be
    // unassigned: PATCH `remove` on them is 400 `invalidValue`. They are not `required` in
    // /Schemas because a create may leave them out (C and 0).
    ("TOTP", "check_remove_attribute", "Failed to remove attribute 'status'"),
    ("TOTP", "check_remove_attribute", "Failed to remove attribute 'fails'"),
    ("HOTP", "check_remove_attribute", "Failed to remove attribute 'status'"),
    ("HOTP", "check_remove_attribute", "Failed to remove attribute 'fails'"),
    ("EMAIL", "check_remove_attribute", "Failed to remove attribute 'status'"),
    ("EMAIL", "check_remove_attribute", "Failed to remove attribute 'fails'"),
    ("SMS", "check_remove_attribute", "Failed to remove attribute 'status'"),
    ("SMS", "check_remove_attribute", "Failed to remove attribute 'fails'"),
    ("PIN", "check_remove_attribute", "Failed to remove attribute 'status'"),
    ("PIN", "check_remove_attribute", "Failed to remove attribute 'fails'"),
    // A user is active unless it is set false (SPEC §17: `active`, default true), so removing
    // `active` restores the default and the user shows `"active": true`, as RFC 7643 §2.5 lets
    // a default stand for an unassigned value.
    ("User", "check_remove_attribute", "PATCH modify() did not remove attribute 'active'"),
    // A policy's name and numbers always have a value (SPEC §18: the code, the settings, the
    // kind's defaults, false for `default`), so removing one restores its default, as for a
    // user's `active`.
    (
        "AuthenticatorPolicy",
        "check_remove_attribute",
        "PATCH modify() did not remove attribute 'displayName'",
    ),
    ("AuthenticatorPolicy", "check_remove_attribute", "PATCH modify() did not remove attribute 'default'"),
    ("AuthenticatorPolicy", "check_remove_attribute", "PATCH modify() did not remove attribute 'maxFails'"),
    (
        "AuthenticatorPolicy",
        "check_remove_attribute",
        "PATCH modify() did not remove attribute 'validityDays'",
    ),
    ("AuthenticatorPolicy", "check_remove_attribute", "PATCH modify() did not remove attribute 'maxUsages'"),
    ("AuthenticatorPolicy", "check_remove_attribute", "PATCH modify() did not remove attribute 'algorithm'"),
    ("AuthenticatorPolicy", "check_remove_attribute", "PATCH modify() did not remove attribute 'digits'"),
    ("AuthenticatorPolicy", "check_remove_attribute", "PATCH modify() did not remove attribute 'period'"),
    // An authenticator's `status` holds `active`, readOnly, which the server computes (SPEC §14:
    // enabled, within its dates, owner active, ...). The tester sends `status` without it and
    // compares the whole complex value it gets back, so the two differ by `active` alone.
    ("Authenticator", "check_add_attribute", "PATCH modify() returned unexpected value for 'status'"),
    ("Authenticator", "check_replace_attribute", "PATCH modify() returned unexpected value for 'status'"),
    // An authenticator always has a status (ENABLED unless set DISABLED, valid from its creation):
    // removing it restores those defaults, as for a user's `active`.
    ("Authenticator", "check_remove_attribute", "PATCH modify() did not remove attribute 'status'"),
    // The Enrollment extension is readOnly, returned in a create's answer only (the device's
    // URI and QR code, shown once), so a PATCH on it is 400 `mutability` (RFC 7644 §3.5.2). The
    // tester patches an extension as a whole, whatever the mutability of its attributes.
    (
        "Authenticator",
        "check_add_attribute",
        "Failed to add attribute 'urn:scim-otp:params:scim:schemas:extension:Enrollment'",
    ),
    (
        "Authenticator",
        "check_remove_attribute",
        "Failed to remove attribute 'urn:scim-otp:params:scim:schemas:extension:Enrollment'",
    ),
    (
        "Authenticator",
        "check_replace_attribute",
        "Failed to replace attribute 'urn:scim-otp:params:scim:schemas:extension:Enrollment'",
    ),
];

/// Passing checks per run, as scim2-tester 0.5.2 counts them (one per attribute in the PATCH
/// checks), so that no check can quietly stop running.
const PASSING: &[(&str, usize)] = &[
    // Discovery of the six resource types and their schemas (AuditEvent, read-only, and Device,
    // whose tokens come from an import, have no CRUD run of their own).
    ("discovery", 40),
    ("TOTP", 18),
    ("HOTP", 18),
    ("EMAIL", 18),
    ("SMS", 18),
    ("PIN", 19),
    ("User", 29),
    ("AuthenticatorPolicy", 30),
    ("Authenticator", 11),
];

#[test]
fn scim2_tester_passes_everything_that_applies() {
    let python = venv_python();
    let state = TempDir::new("conformance");
    let app = App::start(&state.0, &[]);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance/scim2_check.py");
    let out = Command::new(python)
        .arg(script)
        .args([app.base.as_str(), "admin", app.password.as_str()])
        .current_dir(&state.0)
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "scim2_check.py failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut passing: BTreeMap<&str, usize> = BTreeMap::new();
    let mut unexpected = Vec::new();
    let mut expected_seen = vec![false; DOES_NOT_APPLY.len()];
    for line in stdout.lines() {
        let fields: Vec<&str> = line.splitn(5, '\t').collect();
        let [status, run, _tags, check, reason] = fields[..] else { panic!("unreadable line: {line}") };
        if status == "SUCCESS" {
            *passing.entry(run).or_default() += 1;
            continue;
        }
        match DOES_NOT_APPLY
            .iter()
            .position(|(r, c, why)| *r == run && *c == check && reason.starts_with(why))
        {
            Some(i) if !expected_seen[i] => expected_seen[i] = true,
            _ => unexpected.push(line),
        }
    }
    println!("scim2-tester 0.5.2: passing per run {passing:?}; {} do not apply", DOES_NOT_APPLY.len());
    assert!(unexpected.is_empty(), "failures that are not on the list:\n{}", unexpected.join("\n"));
    let missing: Vec<_> =
        DOES_NOT_APPLY.iter().zip(&expected_seen).filter(|(_, seen)| !**seen).map(|(e, _)| e).collect();
    assert!(
        missing.is_empty(),
        "listed as not applying, but not reported (passing now? update the list): {missing:?}"
    );
    assert_eq!(passing, PASSING.iter().copied().collect::<BTreeMap<_, _>>(), "passing checks per run");
}
