//! Device names and the masking of addresses in them (SPEC §2), as Soffid shows them.

use crate::model::DeviceType;

const HIDDEN: &str = "*****";

/// The first `keep` characters of `text`, then a star for each one after.
fn keep_then_stars(text: &str, keep: usize) -> String {
    text.chars().enumerate().map(|(i, c)| if i < keep { c } else { '*' }).collect()
}

/// `patricia@soffid.com` → `pa*****@so****.co*`: two characters of the local part and a fixed
/// five stars (which hides its length), then each domain label with its first two characters kept.
pub fn mask_email(address: &str) -> String {
    let (local, domain) = address.rsplit_once('@').unwrap_or((address, ""));
    let local: String = local.chars().take(2).collect();
    let labels: Vec<String> = domain.split('.').map(|label| keep_then_stars(label, 2)).collect();
    format!("{local}{HIDDEN}@{}", labels.join("."))
}

/// `666555444` → `66*****44`: the first and last two digits around a fixed five stars.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() < 4 {
        return HIDDEN.to_owned();
    }
    let head: String = chars[..2].iter().collect();
    let tail: String = chars[chars.len() - 2..].iter().collect();
    format!("{head}{HIDDEN}{tail}")
}

/// The generated `name` of a device. `serial` numbers TOTP/HOTP devices (`TOTP00000035`).
pub fn device_name(device_type: DeviceType, serial: u64, email: Option<&str>, phone: Option<&str>) -> String {
    match device_type {
        DeviceType::Totp | DeviceType::Hotp => format!("{device_type}{serial:08}"),
        DeviceType::Email => format!("Email message to {}", mask_email(email.unwrap_or_default())),
        DeviceType::Sms => format!("SMS message to {}", mask_phone(phone.unwrap_or_default())),
        DeviceType::Pin => "Security PIN".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_as_in_the_soffid_examples() {
        assert_eq!(device_name(DeviceType::Totp, 35, None, None), "TOTP00000035");
        assert_eq!(device_name(DeviceType::Hotp, 123_456_789, None, None), "HOTP123456789");
        assert_eq!(
            device_name(DeviceType::Email, 0, Some("patricia@soffid.com"), None),
            "Email message to pa*****@so****.co*"
        );
        assert_eq!(
            device_name(DeviceType::Email, 0, Some("dilbert@soffid.com"), None),
            "Email message to di*****@so****.co*"
        );
        assert_eq!(device_name(DeviceType::Sms, 0, None, Some("666555444")), "SMS message to 66*****44");
        assert_eq!(device_name(DeviceType::Sms, 0, None, Some("6665552222")), "SMS message to 66*****22");
        assert_eq!(device_name(DeviceType::Pin, 0, None, None), "Security PIN");
    }

    #[test]
    fn masking_never_shows_a_whole_short_address() {
        assert_eq!(mask_email("a@b.io"), "a*****@b.io");
        assert_eq!(mask_phone("123"), "*****");
        assert_eq!(mask_phone("+34666555444"), "+3*****44");
    }
}
