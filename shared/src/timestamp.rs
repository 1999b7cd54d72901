//! Instants in whole UTC seconds, written the way Soffid writes them (`2022-02-22 07:46:51`).
//!
//! Storage keeps the Unix seconds (an integer column that indexes and compares as an instant);
//! `meta.created` / `meta.lastModified` use RFC 3339 instead, as RFC 7643 §3.1 asks.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

// Soffid's form and a bare date are read as the RFC 3339 instant they name, and Soffid's form is
// written from the date's parts: `time`'s format descriptions would add their general parser and
// formatter (some 30 KB) to the admin app's wasm for these two fixed layouts.

/// Seconds since the Unix epoch, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn unix_seconds(self) -> i64 {
        self.0
    }

    fn to_datetime(self) -> Option<OffsetDateTime> {
        OffsetDateTime::from_unix_timestamp(self.0).ok()
    }

    /// `2022-02-22T07:46:51Z`.
    pub fn to_rfc3339(self) -> String {
        self.to_datetime().and_then(|t| t.format(&Rfc3339).ok()).unwrap_or_default()
    }

    /// Reads `2022-02-22 07:46:51` (UTC) or RFC 3339; whole seconds only.
    pub fn parse(text: &str) -> Option<Timestamp> {
        match parse_instant(text)? {
            Instant::Whole(seconds) => Some(Timestamp(seconds)),
            Instant::Fractional(_) => None,
        }
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(t) = self.to_datetime() else { return write!(f, "@{}", self.0) };
        let (year, month, day) = t.to_calendar_date();
        let (hour, minute, second) = t.to_hms();
        let sign = if year < 0 { "-" } else { "" };
        write!(
            f,
            "{sign}{:04}-{:02}-{:02} {hour:02}:{minute:02}:{second:02}",
            year.unsigned_abs(),
            u8::from(month),
            day
        )
    }
}

/// An instant read from a filter value: whole seconds, or seconds with a fraction
/// (`2022-01-01T10:00:00.5Z`), which must still compare correctly against whole-second columns.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Instant {
    Whole(i64),
    Fractional(f64),
}

/// Reads the date forms the filter language accepts: `2022-01-01` (midnight UTC),
/// `2022-01-01 10:00:00` (UTC) and RFC 3339 with any offset and fraction.
pub fn parse_instant(text: &str) -> Option<Instant> {
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        let nanos = t.nanosecond();
        let seconds = t.unix_timestamp();
        return Some(if nanos == 0 {
            Instant::Whole(seconds)
        } else {
            Instant::Fractional(seconds as f64 + f64::from(nanos) / 1e9)
        });
    }
    // `2022-01-01 10:00:00` is `2022-01-01T10:00:00Z`; `2022-01-01` is its midnight.
    let as_rfc3339 = match (text.len(), text.as_bytes().get(10)) {
        _ if !text.is_ascii() => return None,
        (19, Some(b' ')) => format!("{}T{}Z", &text[..10], &text[11..]),
        (10, None) => format!("{text}T00:00:00Z"),
        _ => return None,
    };
    let t = OffsetDateTime::parse(&as_rfc3339, &Rfc3339).ok()?;
    Some(Instant::Whole(t.unix_timestamp()))
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Timestamp::parse(&text).ok_or_else(|| serde::de::Error::custom(format!("not a timestamp: {text}")))
    }
}

/// Serde adapter for RFC 3339 timestamps (`meta.created`, `meta.lastModified`).
pub mod rfc3339 {
    use super::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        let text = String::deserialize(d)?;
        Timestamp::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("not an RFC 3339 instant: {text}")))
    }
}

/// Serde adapter for an optional RFC 3339 timestamp (`None` is absent or `null`).
pub mod optional_rfc3339 {
    use super::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&t.to_rfc3339()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
        let text = Option::<String>::deserialize(d)?;
        text.map(|text| {
            Timestamp::parse(&text)
                .ok_or_else(|| serde::de::Error::custom(format!("not an RFC 3339 instant: {text}")))
        })
        .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soffid_format_round_trips() {
        let t = Timestamp::parse("2022-02-22 07:46:51").unwrap_or(Timestamp(0));
        assert_eq!(t.0, 1_645_516_011);
        assert_eq!(t.to_string(), "2022-02-22 07:46:51");
        assert_eq!(t.to_rfc3339(), "2022-02-22T07:46:51Z");
    }

    #[test]
    fn filter_dates_are_instants() {
        assert_eq!(parse_instant("2022-01-01"), Some(Instant::Whole(1_640_995_200)));
        assert_eq!(parse_instant("2022-01-01 00:00:00"), Some(Instant::Whole(1_640_995_200)));
        assert_eq!(parse_instant("2022-01-01T01:00:00+01:00"), Some(Instant::Whole(1_640_995_200)));
        assert_eq!(parse_instant("2011-05-13T04:42:34.5Z"), Some(Instant::Fractional(1_305_261_754.5)));
        assert_eq!(parse_instant("2022-13-01"), None);
        for not_soffids in ["2022-01-01 10:00", "2022-01-01  0:00:00", "2022-01-01 1ñ:00:0"] {
            assert_eq!(parse_instant(not_soffids), None, "{not_soffids}");
        }
        assert_eq!(Timestamp(-62_135_596_800).to_string(), "0001-01-01 00:00:00");
        assert_eq!(Timestamp(253_402_300_799).to_string(), "9999-12-31 23:59:59");
        assert_eq!(parse_instant("yesterday"), None);
    }
}
