//! When an authenticator validates (SPEC §14), in one place: the rule in Rust ([`Standing`]),
//! the same rule as the SQL the store's reads and compare-and-sets inline ([`REFUSAL_SQL`],
//! [`ACTIVE_SQL`]), the one order of what makes it inactive ([`Inactive`]) that the API's answers
//! and the admin app's badge both follow, and the reason codes of HID's answers ([`Reason`]),
//! with the words a person reads for each, in the API's answers and in the admin app.
//! A leaf: the attribute table (`schema`) takes its SQL from here.

use crate::i18n::Text;
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

/// A [`Text`] as a `'static` constant, in a match arm.
macro_rules! text {
    ($en:literal, $es:literal, $ca:literal, $nl:literal $(,)?) => {
        const { &Text::new($en, $es, $ca, $nl) }
    };
}

/// What a person reads of a reason: the API's sentence, the admin app's phrase.
impl Reason {
    /// A sentence (HID's `REQUEST.ERROR_MESSAGE`).
    pub fn sentence(self) -> &'static Text {
        match self {
            Reason::WrongResponse => text!(
                "The response is wrong.",
                "La respuesta es incorrecta.",
                "La resposta és incorrecta.",
                "Het antwoord is onjuist.",
            ),
            Reason::Disabled => text!(
                "The authenticator or its device is disabled.",
                "El autenticador o su dispositivo está desactivado.",
                "L'autenticador o el seu dispositiu està desactivat.",
                "De authenticator of het apparaat ervan is uitgeschakeld.",
            ),
            Reason::LockedByFailures => text!(
                "Locked after too many failed attempts; an administrator can reset it.",
                "Bloqueado tras demasiados intentos fallidos; un administrador puede restablecerlo.",
                "Bloquejat després de massa intents fallits; un administrador el pot restablir.",
                "Geblokkeerd na te veel mislukte pogingen; een beheerder kan het herstellen.",
            ),
            Reason::OutsideValidity => text!(
                "The authenticator is outside its validity dates.",
                "El autenticador está fuera de sus fechas de validez.",
                "L'autenticador és fora de les seves dates de validesa.",
                "De authenticator valt buiten zijn geldigheidsdata.",
            ),
            Reason::UsageLimit => text!(
                "The authenticator has reached its usage limit.",
                "El autenticador ha alcanzado su límite de usos.",
                "L'autenticador ha arribat al seu límit d'usos.",
                "De authenticator heeft zijn gebruikslimiet bereikt.",
            ),
            Reason::UserInactive => text!(
                "The user is inactive.",
                "El usuario está inactivo.",
                "L'usuari està inactiu.",
                "De gebruiker is inactief.",
            ),
            Reason::NothingToCheck => text!(
                "There is no usable device or no pending challenge to check.",
                "No hay ningún dispositivo utilizable ni ningún desafío pendiente que comprobar.",
                "No hi ha cap dispositiu utilitzable ni cap repte pendent per comprovar.",
                "Er is geen bruikbaar apparaat of geen openstaande challenge om te controleren.",
            ),
            Reason::DeliveryFailed => text!(
                "The code could not be delivered.",
                "No se ha podido entregar el código.",
                "No s'ha pogut lliurar el codi.",
                "De code kon niet worden bezorgd.",
            ),
            Reason::SendBudget => text!(
                "No code was sent: too many codes went to this device or destination recently; try again later.",
                "No se ha enviado ningún código: se han enviado demasiados códigos a este dispositivo o destino recientemente; inténtelo más tarde.",
                "No s'ha enviat cap codi: s'han enviat massa codis a aquest dispositiu o destinació recentment; torneu-ho a provar més tard.",
                "Er is geen code verstuurd: er zijn onlangs te veel codes naar dit apparaat of deze bestemming gestuurd; probeer het later opnieuw.",
            ),
        }
    }

    /// A phrase that follows "Refused:" (the admin app's validation dialog).
    pub fn phrase(self) -> &'static Text {
        match self {
            Reason::WrongResponse => {
                text!("wrong response", "respuesta incorrecta", "resposta incorrecta", "onjuist antwoord",)
            }
            Reason::Disabled => text!("disabled", "deshabilitado", "deshabilitat", "uitgeschakeld",),
            Reason::LockedByFailures => text!(
                "locked by failures",
                "bloqueado por fallos",
                "bloquejat per errors",
                "geblokkeerd door fouten",
            ),
            Reason::OutsideValidity => text!(
                "outside its validity dates",
                "fuera de sus fechas de validez",
                "fora de les seves dates de validesa",
                "buiten de geldigheidsdatums",
            ),
            Reason::UsageLimit => text!(
                "usage limit reached",
                "límite de usos alcanzado",
                "límit d'usos assolit",
                "gebruikslimiet bereikt",
            ),
            Reason::UserInactive => {
                text!("user inactive", "usuario inactivo", "usuari inactiu", "gebruiker inactief",)
            }
            Reason::NothingToCheck => text!(
                "no usable device or no pending challenge",
                "ningún dispositivo utilizable o ningún desafío pendiente",
                "cap dispositiu utilitzable o cap repte pendent",
                "geen bruikbaar apparaat of geen openstaande uitdaging",
            ),
            Reason::DeliveryFailed => text!(
                "the code could not be delivered",
                "no se pudo entregar el código",
                "no s'ha pogut lliurar el codi",
                "de code kon niet worden afgeleverd",
            ),
            Reason::SendBudget => text!(
                "too many codes were sent recently; try again later",
                "se han enviado demasiados códigos recientemente; inténtelo más tarde",
                "s'han enviat massa codis recentment; torneu-ho a provar més tard",
                "er zijn onlangs te veel codes verstuurd; probeer het later opnieuw",
            ),
        }
    }
}

impl Inactive {
    /// A phrase beside the badge of an authenticator that does not validate (the admin app).
    pub fn phrase(self) -> &'static Text {
        match self {
            Inactive::UserInactive => Reason::UserInactive.phrase(),
            Inactive::Refused(Refusal::Disabled) => Reason::Disabled.phrase(),
            Inactive::Refused(Refusal::Locked) => Reason::LockedByFailures.phrase(),
            Inactive::Refused(Refusal::NotYetValid) => {
                text!("not yet valid", "aún no válido", "encara no vàlid", "nog niet geldig",)
            }
            Inactive::Refused(Refusal::Expired) => text!("expired", "caducado", "caducat", "verlopen",),
            Inactive::Refused(Refusal::UsageLimit) => Reason::UsageLimit.phrase(),
            Inactive::NoUsableDevice => text!(
                "no usable device",
                "ningún dispositivo utilizable",
                "cap dispositiu utilitzable",
                "geen bruikbaar apparaat",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    /// Each reason reads differently from every other, in every language and in both forms,
    /// and no word is missing.
    #[test]
    fn each_reason_has_its_own_words() {
        for lang in [Lang::En, Lang::Es, Lang::Ca, Lang::Nl] {
            for form in [Reason::sentence, Reason::phrase] {
                let words: std::collections::BTreeSet<&str> =
                    Reason::ALL.iter().map(|r| form(*r).get(lang)).collect();
                assert_eq!(words.len(), Reason::ALL.len(), "{lang:?}");
                assert!(words.iter().all(|w| !w.trim().is_empty()), "{lang:?}");
            }
        }
    }
}
