//! Instants in whole UTC seconds, written the way Soffid writes them (`2022-02-22 07:46:51`).
//!
//! Storage keeps the Unix seconds (an integer column that indexes and compares as an instant);
//! `meta.created` / `meta.lastModified` use RFC 3339 instead, as RFC 7643 §3.1 asks.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime};

const SOFFID_FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
const DATE_ONLY: &[time::format_description::BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]");

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
        match self.to_datetime().and_then(|t| t.format(SOFFID_FORMAT).ok()) {
            Some(text) => f.write_str(&text),
            None => write!(f, "@{}", self.0),
        }
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
    if let Ok(t) = PrimitiveDateTime::parse(text, SOFFID_FORMAT) {
        return Some(Instant::Whole(t.assume_utc().unix_timestamp()));
    }
    if let Ok(d) = Date::parse(text, DATE_ONLY) {
        return Some(Instant::Whole(d.midnight().assume_utc().unix_timestamp()));
    }
    None
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
        assert_eq!(parse_instant("yesterday"), None);
    }
}
