//! When an authenticator validates (SPEC §14), in one place: the rule in Rust ([`Standing`]),
//! the same rule as the SQL the store's reads and compare-and-sets inline ([`REFUSAL_SQL`],
//! [`ACTIVE_SQL`]), the one order of what makes it inactive ([`Inactive`]) that the API's answers
//! and the admin app's badge both follow, and the reason codes of HID's answers ([`Reason`]).
//! A leaf: the attribute table (`schema`) takes its SQL from here.

use crate::timestamp::Timestamp;

/// `REQUEST.REASON` of an action's answer (SPEC §14), also listed in the description of the
/// `urn:hid:scim:api:idp:2.0:Action` schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    WrongResponse = 1,
    Disabled = 2,
    LockedByFailures = 3,
    OutsideValidity = 4,
    UsageLimit = 5,
    UserInactive = 6,
    NothingToCheck = 7,
    DeliveryFailed = 8,
    /// Nothing was sent: a send budget (SPEC §6) refused it for now.
    SendBudget = 9,
}

impl Reason {
    pub const ALL: [Reason; 9] = [
        Reason::WrongResponse,
        Reason::Disabled,
        Reason::LockedByFailures,
        Reason::OutsideValidity,
        Reason::UsageLimit,
        Reason::UserInactive,
        Reason::NothingToCheck,
        Reason::DeliveryFailed,
        Reason::SendBudget,
    ];

    pub fn code(self) -> u8 {
        self as u8
    }

    /// In English, for the schema's description.
    pub fn meaning(self) -> &'static str {
        match self {
            Reason::WrongResponse => "wrong response",
            Reason::Disabled => "disabled",
            Reason::LockedByFailures => "locked by failures",
            Reason::OutsideValidity => "outside the validity dates",
            Reason::UsageLimit => "usage limit reached",
            Reason::UserInactive => "user inactive",
            Reason::NothingToCheck => "no usable device or no pending challenge",
            Reason::DeliveryFailed => "delivery failed",
            Reason::SendBudget => "not sent: send budget spent for now",
        }
    }
}

/// Why an authenticator refuses validations at some instant, whatever its devices say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Disabled,
    /// Disabled by `maxFails` consecutive failures, until RESET.
    Locked,
    NotYetValid,
    Expired,
    UsageLimit,
}

impl Refusal {
    pub const ALL: [Refusal; 5] =
        [Refusal::Disabled, Refusal::Locked, Refusal::NotYetValid, Refusal::Expired, Refusal::UsageLimit];

    /// Its word in the store's queries and in the audit.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::Disabled => "disabled",
            Refusal::Locked => "locked",
            Refusal::NotYetValid => "not yet valid",
            Refusal::Expired => "expired",
            Refusal::UsageLimit => "usage limit",
        }
    }

    pub fn parse(word: &str) -> Option<Refusal> {
        Refusal::ALL.into_iter().find(|r| r.as_str() == word)
    }

    pub fn reason(self) -> Reason {
        match self {
            Refusal::Disabled => Reason::Disabled,
            Refusal::Locked => Reason::LockedByFailures,
            Refusal::NotYetValid | Refusal::Expired => Reason::OutsideValidity,
            Refusal::UsageLimit => Reason::UsageLimit,
        }
    }
}

/// The refusal rule as SQL over columns named `enabled`, `disabled_by_failures`, `start_date`,
/// `expiry_date`, `max_usages` and `total_success` (the store's `authenticators` joined to their
/// `policies`, or its `authenticator_rows`), `{now}` standing for the instant: NULL, or the
/// refusal's word ([`Refusal::as_str`]). A test holds it to [`Standing::refusal`].
macro_rules! refusal_sql {
    () => {
        "CASE WHEN enabled = 0 THEN 'disabled' WHEN disabled_by_failures = 1 THEN 'locked' \
         WHEN start_date > {now} THEN 'not yet valid' \
         WHEN expiry_date IS NOT NULL AND expiry_date <= {now} THEN 'expired' \
         WHEN max_usages > 0 AND total_success >= max_usages THEN 'usage limit' END"
    };
}

pub const REFUSAL_SQL: &str = refusal_sql!();

/// Whether an authenticator validates at `{now}`, as SQL over the store's `authenticator_rows`:
/// no refusal, its owner active, and (device kinds) a device in C or V.
pub const ACTIVE_SQL: &str = concat!(
    "((",
    refusal_sql!(),
    ") IS NULL AND user_active = 1 AND (kind = 'SECURITY_QUESTION' OR usable_devices > 0))"
);

/// What decides whether an authenticator refuses validations at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub enabled: bool,
    pub disabled_by_failures: bool,
    pub start_date: Timestamp,
    pub expiry_date: Option<Timestamp>,
    /// The policy's `maxUsages` (0: unlimited).
    pub max_usages: u64,
    pub total_success: u64,
}

impl Standing {
    /// Why it refuses validations at `now`, if it does ([`REFUSAL_SQL`] in Rust).
    pub fn refusal(&self, now: Timestamp) -> Option<Refusal> {
        if !self.enabled {
            Some(Refusal::Disabled)
        } else if self.disabled_by_failures {
            Some(Refusal::Locked)
        } else if self.start_date > now {
            Some(Refusal::NotYetValid)
        } else if self.expiry_date.is_some_and(|expiry| expiry <= now) {
            Some(Refusal::Expired)
        } else if self.max_usages > 0 && self.total_success >= self.max_usages {
            Some(Refusal::UsageLimit)
        } else {
            None
        }
    }
}

/// Why an authenticator does not validate, in the one order every view checks: its owner is
/// inactive, it refuses ([`Refusal`]), or (device kinds) none of its devices is usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inactive {
    UserInactive,
    Refused(Refusal),
    NoUsableDevice,
}

impl Inactive {
    /// `None` when it validates: `refusal` from [`Standing::refusal`] (or the store's
    /// [`REFUSAL_SQL`]), `usable_device` false when no device of it is in C or V.
    pub fn of(user_active: bool, refusal: Option<Refusal>, usable_device: bool) -> Option<Inactive> {
        if !user_active {
            Some(Inactive::UserInactive)
        } else if let Some(refusal) = refusal {
            Some(Inactive::Refused(refusal))
        } else {
            (!usable_device).then_some(Inactive::NoUsableDevice)
        }
    }

    /// HID's reason code for it.
    pub fn reason(self) -> Reason {
        match self {
            Inactive::UserInactive => Reason::UserInactive,
            Inactive::Refused(refusal) => refusal.reason(),
            Inactive::NoUsableDevice => Reason::NothingToCheck,
        }
    }

    /// Whether it is a lockout by failures (Soffid's `locked`).
    pub fn locked(self) -> bool {
        self == Inactive::Refused(Refusal::Locked)
    }
}
