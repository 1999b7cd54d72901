//! One store, two views (SPEC §14): random sequences of operations through both dialects run
//! against a small reference model, and after every step Soffid's `status`/`fails`/`lastUsed` of
//! each device and HID's `status`/`active`/`statistics` of each authenticator must be what the
//! model says.

use super::*;
use proptest::prelude::*;
use std::collections::BTreeMap;

/// The built-in TOTP policies' maxFails, which the settings' max_fails also is.
const MAX_FAILS: u32 = 5;
const USERS: [&str; 2] = ["ann", "bob"];
/// A TOTP device joins its owner's authenticator of the default policy; HID creates one of the
/// other TOTP policy.
const SOFFID_POLICY: &str = "AT_EMPOTP";
const HID_POLICY: &str = "AT_CUSTOTP";

#[derive(Debug, Clone)]
enum Op {
    CreateSoffid { user: usize },
    CreateHid { user: usize },
    Validate { device: usize, right: bool, hid: bool },
    PatchStatus { device: usize, enable: bool },
    DeleteDevice { device: usize },
    Reset { authenticator: usize },
    SetEnabled { authenticator: usize, enabled: bool },
    SetExpired { authenticator: usize, expired: bool },
    DeleteAuthenticator { authenticator: usize },
    SetUserActive { user: usize, active: bool },
    DeleteUser { user: usize },
    Wait,
}

fn op() -> impl Strategy<Value = Op> {
    let user = 0..USERS.len();
    prop_oneof![
        3 => user.clone().prop_map(|user| Op::CreateSoffid { user }),
        2 => user.clone().prop_map(|user| Op::CreateHid { user }),
        10 => (0..4usize, any::<bool>(), any::<bool>()).prop_map(|(device, right, hid)| Op::Validate { device, right, hid }),
        2 => (0..4usize, any::<bool>()).prop_map(|(device, enable)| Op::PatchStatus { device, enable }),
        1 => (0..4usize).prop_map(|device| Op::DeleteDevice { device }),
        2 => (0..4usize).prop_map(|authenticator| Op::Reset { authenticator }),
        2 => (0..4usize, any::<bool>()).prop_map(|(authenticator, enabled)| Op::SetEnabled { authenticator, enabled }),
        1 => (0..4usize, any::<bool>()).prop_map(|(authenticator, expired)| Op::SetExpired { authenticator, expired }),
        1 => (0..4usize).prop_map(|authenticator| Op::DeleteAuthenticator { authenticator }),
        1 => (user.clone(), any::<bool>()).prop_map(|(user, active)| Op::SetUserActive { user, active }),
        1 => user.prop_map(|user| Op::DeleteUser { user }),
        3 => Just(Op::Wait),
    ]
}

#[derive(Debug, Clone)]
struct Device {
    id: i64,
    user: usize,
    policy: &'static str,
    secret: Secret,
    status: Status,
    /// The status a disabled authenticator set aside (restored when it is enabled).
    before_disable: Option<Status>,
    fails: u32,
    last_used: Option<i64>,
    last_step: Option<u64>,
}

#[derive(Debug, Clone, Default)]
struct Authenticator {
    enabled: bool,
    locked: bool,
    expired: bool,
    consecutive_failed: u64,
    consecutive_success: u64,
    total_failed: u64,
    total_success: u64,
    last_device: Option<i64>,
}

#[derive(Debug, Default)]
struct Model {
    /// The user's id once it exists, and whether it is active.
    users: [Option<(i64, bool)>; 2],
    devices: Vec<Device>,
    authenticators: BTreeMap<(usize, &'static str), Authenticator>,
}

impl Model {
    fn usable(status: Status) -> bool {
        matches!(status, Status::Created | Status::Validated)
    }

    /// A device leaves L or D for V through Soffid's dialect (SPEC §5, §14).
    fn soffid_enable(&mut self, index: usize) {
        let (key, old) = {
            let d = &mut self.devices[index];
            let old = d.status;
            if old == Status::Locked {
                d.fails = 0;
            }
            d.status = Status::Validated;
            d.before_disable = None;
            ((d.user, d.policy), old)
        };
        if matches!(old, Status::Locked | Status::Disabled) {
            let a = self.authenticators.get_mut(&key).unwrap();
            a.consecutive_failed = 0;
            a.locked = false;
        }
        if old == Status::Disabled {
            self.set_enabled(key, true);
        }
    }

    fn set_enabled(&mut self, key: (usize, &'static str), enabled: bool) {
        let a = self.authenticators.get_mut(&key).unwrap();
        let was = a.enabled;
        a.enabled = enabled;
        for d in self.devices.iter_mut().filter(|d| (d.user, d.policy) == key) {
            match (was, enabled) {
                (true, false) if d.status != Status::Disabled => {
                    d.before_disable = Some(d.status);
                    d.status = Status::Disabled;
                }
                (false, true) => {
                    if let Some(status) = d.before_disable.take() {
                        d.status = status;
                    }
                }
                _ => {}
            }
        }
    }

    fn reset(&mut self, key: (usize, &'static str)) {
        let a = self.authenticators.get_mut(&key).unwrap();
        a.consecutive_failed = 0;
        a.locked = false;
        for d in self.devices.iter_mut().filter(|d| (d.user, d.policy) == key && d.status == Status::Locked) {
            d.status = Status::Validated;
            d.fails = 0;
        }
    }

    /// A validation at `now`: whether it succeeds, and what it counts.
    fn validate(&mut self, index: usize, right: bool, hid: bool, now: i64) -> bool {
        let d = self.devices[index].clone();
        let key = (d.user, d.policy);
        let a = self.authenticators[&key].clone();
        let user_active = self.users[d.user].is_some_and(|(_, active)| active);
        if !user_active || !Model::usable(d.status) || !a.enabled || a.locked || a.expired {
            return false;
        }
        let step = (now / 30) as u64;
        let fresh = d.last_step.is_none_or(|last| last < step);
        if right && fresh {
            let d = &mut self.devices[index];
            d.fails = 0;
            d.last_used = Some(now);
            d.last_step = Some(step);
            if hid && d.status == Status::Created {
                d.status = Status::Validated;
            }
            let a = self.authenticators.get_mut(&key).unwrap();
            a.consecutive_success += 1;
            a.total_success += 1;
            a.consecutive_failed = 0;
            a.last_device = Some(d.id);
            return true;
        }
        let a = self.authenticators.get_mut(&key).unwrap();
        let locks_all = a.consecutive_failed + 1 >= u64::from(MAX_FAILS);
        let d = &mut self.devices[index];
        d.fails += 1;
        if d.fails >= MAX_FAILS || locks_all {
            d.status = Status::Locked;
        }
        a.consecutive_failed += 1;
        a.total_failed += 1;
        a.consecutive_success = 0;
        if locks_all && !a.locked {
            a.locked = true;
            for d in self.devices.iter_mut().filter(|d| (d.user, d.policy) == key && Model::usable(d.status))
            {
                d.status = Status::Locked;
            }
        }
        false
    }

    fn authenticator_keys(&self) -> Vec<(usize, &'static str)> {
        self.authenticators.keys().copied().collect()
    }

    fn forget_user(&mut self, user: usize) {
        self.users[user] = None;
        self.devices.retain(|d| d.user != user);
        self.authenticators.retain(|(u, _), _| *u != user);
    }
}

fn rfc3339(t: i64) -> String {
    shared::Timestamp(t).to_rfc3339()
}

/// `lastUsed` as Soffid's dialect writes it.
fn soffid_time(t: i64) -> String {
    shared::Timestamp(t).to_string()
}

struct Run {
    api: Api,
    model: Model,
}

impl Run {
    fn user_id(&mut self, user: usize) -> i64 {
        if let Some((id, _)) = self.model.users[user] {
            return id;
        }
        let (status, created) = self.api.call("POST", "/Users", Some(json!({"userName": USERS[user]})));
        assert_eq!(status, 201, "{created}");
        let id = created["id"].as_str().unwrap().parse().unwrap();
        self.model.users[user] = Some((id, true));
        id
    }

    fn authenticator_path(&self, (user, policy): (usize, &str)) -> String {
        format!("/Authenticator/{}.{policy}", self.model.users[user].unwrap().0)
    }

    fn add_device(&mut self, user: usize, policy: &'static str, id: i64, uri: &str) {
        self.model.devices.push(Device {
            id,
            user,
            policy,
            secret: secret_of(uri),
            status: Status::Created,
            before_disable: None,
            fails: 0,
            last_used: None,
            last_step: None,
        });
        self.model
            .authenticators
            .entry((user, policy))
            .or_insert(Authenticator { enabled: true, ..Authenticator::default() });
    }

    fn step(&mut self, op: &Op) {
        let now = self.api.now.get();
        let devices = self.model.devices.len();
        let keys = self.model.authenticator_keys();
        match *op {
            Op::CreateSoffid { user } => {
                self.user_id(user);
                let created = self.api.create(json!({"type": "TOTP", "user": USERS[user]}));
                let id = created["id"].as_i64().unwrap();
                // A new device joins its owner's authenticator as it is (C, even when that one is
                // disabled: the authenticator's refusal applies to it).
                self.add_device(user, SOFFID_POLICY, id, created["otpauthUri"].as_str().unwrap());
            }
            Op::CreateHid { user } => {
                let owner = self.user_id(user);
                let (status, created) = self.api.call(
                    "POST",
                    "/Authenticator",
                    Some(json!({"owner": {"value": owner}, "policy": {"value": HID_POLICY}})),
                );
                if self.model.authenticators.contains_key(&(user, HID_POLICY)) {
                    assert_eq!(status, 409, "{created}");
                    return;
                }
                assert_eq!(status, 201, "{created}");
                let enrolment = &created[ENROLLMENT_EXT];
                let id = enrolment["deviceId"].as_i64().unwrap();
                self.add_device(user, HID_POLICY, id, enrolment["otpauthUri"].as_str().unwrap());
            }
            Op::Validate { device, right, hid } if devices > 0 => {
                let index = device % devices;
                let d = self.model.devices[index].clone();
                let code = match right {
                    true => self.api.code(&d.secret),
                    false => "000000".to_owned(),
                };
                let expected = self.model.validate(index, right, hid, now);
                let success = if hid {
                    let body = json!({"schemas": [ACTION], ACTION: {"action": "VERIFY", "attributes": [
                        {"name": "RESPONSE", "value": code}, {"name": "DEVICE.ID", "value": d.id.to_string()}]}});
                    let path = self.authenticator_path((d.user, d.policy));
                    let (status, answer) = self.api.call("POST", &path, Some(body));
                    assert_eq!(status, 200, "{answer}");
                    answer["attributes"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|a| a["name"] == "REQUEST.STATUS" && a["value"] == "1")
                } else {
                    self.api.respond(d.id, &code)["success"] == true
                };
                assert_eq!(success, expected, "{op:?}");
            }
            Op::PatchStatus { device, enable } if devices > 0 => {
                let index = device % devices;
                let id = self.model.devices[index].id;
                let value = if enable { "V" } else { "D" };
                let patch = json!({"Operations": [{"op": "replace", "path": "status", "value": value}]});
                let (status, answer) = self.api.call("PATCH", &format!("/OtpDevice/{id}"), Some(patch));
                assert_eq!(status, 200, "{answer}");
                match enable {
                    true if self.model.devices[index].status != Status::Validated => {
                        self.model.soffid_enable(index)
                    }
                    true => {}
                    false => {
                        let d = &mut self.model.devices[index];
                        if d.status != Status::Disabled {
                            d.status = Status::Disabled;
                        }
                    }
                }
            }
            Op::DeleteDevice { device } if devices > 0 => {
                let index = device % devices;
                let id = self.model.devices[index].id;
                assert_eq!(self.api.call("DELETE", &format!("/OtpDevice/{id}"), None).0, 204);
                self.model.devices.remove(index);
            }
            Op::Reset { authenticator } if !keys.is_empty() => {
                let key = keys[authenticator % keys.len()];
                let body = json!({"schemas": [ACTION], ACTION: {"action": "RESET"}});
                let (status, answer) = self.api.call("POST", &self.authenticator_path(key), Some(body));
                assert_eq!(status, 200, "{answer}");
                self.model.reset(key);
            }
            Op::SetEnabled { authenticator, enabled } if !keys.is_empty() => {
                let key = keys[authenticator % keys.len()];
                let value = if enabled { "ENABLED" } else { "DISABLED" };
                let patch =
                    json!({"Operations": [{"op": "replace", "path": "status.status", "value": value}]});
                let (status, answer) = self.api.call("PATCH", &self.authenticator_path(key), Some(patch));
                assert_eq!(status, 200, "{answer}");
                // Written as it reads, status.status changes nothing; ENABLED on one that
                // failures disabled enables it and ends the lockout, as RESET does.
                let a = &self.model.authenticators[&key];
                let (shown, locked) = (a.enabled && !a.locked, a.locked);
                if enabled != shown {
                    self.model.set_enabled(key, enabled);
                    if enabled && locked {
                        self.model.reset(key);
                    }
                }
            }
            Op::SetExpired { authenticator, expired } if !keys.is_empty() => {
                let key = keys[authenticator % keys.len()];
                let expiry = if expired { json!(rfc3339(now - 1)) } else { Value::Null };
                let body = json!({"status": {"startDate": rfc3339(1_600_000_000), "expiryDate": expiry}});
                let (status, answer) = self.api.call("PUT", &self.authenticator_path(key), Some(body));
                assert_eq!(status, 200, "{answer}");
                // A PUT without `status.status` keeps it (absent attributes are kept).
                self.model.authenticators.get_mut(&key).unwrap().expired = expired;
            }
            Op::DeleteAuthenticator { authenticator } if !keys.is_empty() => {
                let key = keys[authenticator % keys.len()];
                assert_eq!(self.api.call("DELETE", &self.authenticator_path(key), None).0, 204);
                self.model.authenticators.remove(&key);
                self.model.devices.retain(|d| (d.user, d.policy) != key);
            }
            Op::SetUserActive { user, active } => {
                let Some((id, _)) = self.model.users[user] else { return };
                let patch = json!({"Operations": [{"op": "replace", "path": "active", "value": active}]});
                let (status, answer) = self.api.call("PATCH", &format!("/Users/{id}"), Some(patch));
                assert_eq!(status, 200, "{answer}");
                self.model.users[user] = Some((id, active));
            }
            Op::DeleteUser { user } => {
                let Some((id, _)) = self.model.users[user] else { return };
                assert_eq!(self.api.call("DELETE", &format!("/Users/{id}"), None).0, 204);
                self.model.forget_user(user);
            }
            Op::Wait => self.api.now.set(now + 30),
            _ => {}
        }
    }

    /// Both views against the model.
    fn check(&self, after: &[Op]) {
        let now = self.api.now.get();
        for d in &self.model.devices {
            let (status, found) = self.api.call("GET", &format!("/OtpDevice/{}", d.id), None);
            assert_eq!(status, 200, "{found} after {after:?}");
            let seen = (found["status"].as_str().unwrap(), found["fails"].as_u64().unwrap() as u32);
            assert_eq!(seen, (d.status.as_str(), d.fails), "device {} after {after:?}", d.id);
            let last_used = found.get("lastUsed").and_then(Value::as_str).map(str::to_owned);
            assert_eq!(last_used, d.last_used.map(soffid_time), "device {} lastUsed after {after:?}", d.id);
        }
        let (_, listing) = self.api.call("GET", "/OtpDevice?count=0", None);
        assert_eq!(listing["totalResults"], self.model.devices.len(), "devices after {after:?}");
        for (key, a) in &self.model.authenticators {
            let (status, found) = self.api.call("GET", &self.authenticator_path(*key), None);
            assert_eq!(status, 200, "{found} after {after:?}");
            let user_active = self.model.users[key.0].is_some_and(|(_, active)| active);
            let usable =
                self.model.devices.iter().any(|d| (d.user, d.policy) == *key && Model::usable(d.status));
            let shown = if a.enabled && !a.locked { "ENABLED" } else { "DISABLED" };
            let active = a.enabled && !a.locked && !a.expired && user_active && usable;
            let stats = &found["statistics"];
            let seen = (
                found["status"]["status"].as_str().unwrap(),
                found["status"]["active"].as_bool().unwrap(),
                [
                    stats["consecutiveFailed"].as_u64(),
                    stats["consecutiveSuccess"].as_u64(),
                    stats["totalFailed"].as_u64(),
                    stats["totalSuccess"].as_u64(),
                ],
                found["lastSuccessfulDevice"]["value"].as_str().map(str::to_owned),
            );
            let expected = (
                shown,
                active,
                [a.consecutive_failed, a.consecutive_success, a.total_failed, a.total_success].map(Some),
                a.last_device.map(|d| d.to_string()),
            );
            assert_eq!(seen, expected, "authenticator {key:?} at {now} after {after:?}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn both_views_agree_with_the_model(ops in proptest::collection::vec(op(), 1..30)) {
        let mut run = Run { api: Api::new(), model: Model::default() };
        for (n, op) in ops.iter().enumerate() {
            run.step(op);
            run.check(&ops[..=n]);
        }
    }
}
