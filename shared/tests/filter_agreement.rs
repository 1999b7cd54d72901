//! The filter evaluator and the SQL compiler must select the same devices. Random filters over
//! random device sets run through both: `Condition::matches` in Rust, and `Condition::to_sql` on
//! an in-memory SQLite table whose columns come from the attribute table itself. Sorting too:
//! `Sort::compare` in Rust and `Sort::order_by_sql` in SQLite must give the same order.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use proptest::prelude::*;
use rusqlite::types::Value as SqlValue;
use shared::filter::{AttrPath, CompareOp, Condition, Filter, Literal, SqlParam, parse};
use shared::model::{DEVICE_SCHEMA, Meta};
use shared::query::Sort;
use shared::schema::{ATTRIBUTES, AttrType, Attribute, META_ATTRIBUTES, Value};
use shared::{Algorithm, DeviceType, OtpDevice, Status, Timestamp};

const EPOCH: i64 = 1_600_000_000;
const SPAN: i64 = 1_000_000;

const WORDS: &[&str] = &[
    "alice",
    "Alice",
    "ALICE",
    "ali",
    "ice",
    "bob",
    "émile",
    "É",
    "TOTP",
    "totp",
    "TO",
    "P",
    "C",
    "v",
    "D",
    "l",
    "x",
    "SHA1",
    "sha256",
    "SHA",
    "512",
    "pa@example.com",
    "PA@Example.COM",
    "example",
    "@",
    "666555444",
    "+34600111222",
    "666",
    "44",
    "",
    "TOTP00000001",
    "Email message to",
    "Security PIN",
    "SMS",
    "message",
    "*",
];
const USERS: &[&str] = &["alice", "Alice", "ALICE", "bob", "émile", "carol"];
const EMAILS: &[&str] = &["pa@example.com", "PA@Example.COM", "bob@mail.example.org"];
const PHONES: &[&str] = &["666555444", "+34600111222", "6665552222"];

/// Every column the table gives, with its SQL type, once (`created` backs two attributes).
fn columns() -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&str, &str)> = Vec::new();
    for a in ATTRIBUTES.iter().chain(META_ATTRIBUTES) {
        if let Some(column) = a.column {
            let sql_type = if a.kind == AttrType::String { "TEXT" } else { "INTEGER" };
            if !out.iter().any(|(c, _)| *c == column) {
                out.push((column, sql_type));
            }
        }
    }
    out
}

fn filterable() -> Vec<(String, &'static Attribute)> {
    let mut out: Vec<(String, &'static Attribute)> =
        ATTRIBUTES.iter().filter(|a| a.column.is_some()).map(|a| (a.name.to_owned(), a)).collect();
    out.extend(
        META_ATTRIBUTES.iter().filter(|a| a.column.is_some()).map(|a| (format!("meta.{}", a.name), a)),
    );
    out
}

fn device() -> impl Strategy<Value = OtpDevice> {
    let fields = (
        prop::sample::select(DeviceType::ALL.to_vec()),
        prop::sample::select(USERS),
        prop::sample::select(Status::ALL.to_vec()),
        0u32..7,
        0..SPAN,
        prop::option::of(0..SPAN),
        0..SPAN,
        prop::sample::select(Algorithm::ALL.to_vec()),
        prop::sample::select(vec![6u32, 8]),
        prop::sample::select(vec![30u32, 60]),
        prop::sample::select(EMAILS),
        prop::sample::select(PHONES),
    );
    (fields, prop::option::of(prop::sample::select(WORDS))).prop_map(
        |(
            (t, user, status, fails, created, used, modified, alg, digits, period, email, phone),
            external_id,
        )| {
            let seeded = t.has_seed();
            OtpDevice {
                schemas: vec![DEVICE_SCHEMA.into()],
                id: 0,
                external_id: external_id.map(str::to_owned),
                name: shared::names::device_name(t, 1, Some(email), Some(phone)),
                device_type: t,
                user: user.into(),
                status,
                fails,
                created: Timestamp(EPOCH + created),
                last_used: used.map(|u| Timestamp(EPOCH + u)),
                email: (t == DeviceType::Email).then(|| email.into()),
                phone: (t == DeviceType::Sms).then(|| phone.into()),
                algorithm: seeded.then_some(alg),
                digits: (t != DeviceType::Pin).then_some(digits),
                period: (t == DeviceType::Totp).then_some(period),
                image: None,
                otpauth_uri: None,
                meta: Meta::new(Timestamp(EPOCH + created), Timestamp(EPOCH + modified), 1),
            }
        },
    )
}

/// Up to 30 random devices with ids 1, 2, 3, …
fn devices() -> impl Strategy<Value = Vec<OtpDevice>> {
    prop::collection::vec(device(), 0..30).prop_map(|mut devices| {
        for (i, device) in devices.iter_mut().enumerate() {
            device.id = i as i64 + 1;
        }
        devices
    })
}

/// A date value in one of the accepted spellings, near the devices' times.
fn date_literal() -> impl Strategy<Value = Literal> {
    (-10_000..SPAN + 10_000, 0..5u8).prop_map(|(offset, style)| {
        let t = Timestamp(EPOCH + offset);
        let text = match style {
            0 => t.to_string()[..10].to_owned(),
            1 => t.to_string(),
            2 => t.to_rfc3339(),
            3 => Timestamp(t.0 + 3600).to_rfc3339().replace('Z', "+01:00"),
            _ => t.to_rfc3339().replace('Z', ".5Z"),
        };
        Literal::Str(text)
    })
}

/// A path spelling: the name in a random case, sometimes with the schema URN in front.
fn spelled(name: String, urn_allowed: bool) -> impl Strategy<Value = String> {
    (any::<u64>(), any::<bool>()).prop_map(move |(bits, urn)| {
        let cased: String = name
            .chars()
            .enumerate()
            .map(
                |(i, c)| {
                    if bits >> (i % 64) & 1 == 1 { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() }
                },
            )
            .collect();
        if urn && urn_allowed { format!("{DEVICE_SCHEMA}:{cased}") } else { cased }
    })
}

fn path(text: String) -> AttrPath {
    AttrPath { text, position: 0 }
}

fn leaf_for(name: String, attribute: &'static Attribute, urn_allowed: bool) -> BoxedStrategy<Filter> {
    let (ops, value): (Vec<CompareOp>, BoxedStrategy<Literal>) = match attribute.kind {
        AttrType::String => (
            CompareOp::ALL.to_vec(),
            prop::sample::select(WORDS).prop_map(|w| Literal::Str(w.to_owned())).boxed(),
        ),
        AttrType::Integer => (
            vec![CompareOp::Eq, CompareOp::Ne, CompareOp::Gt, CompareOp::Ge, CompareOp::Lt, CompareOp::Le],
            prop_oneof![
                (-1i64..40).prop_map(Literal::Int),
                (-2i64..80).prop_map(|n| Literal::Real(n as f64 / 2.0))
            ]
            .boxed(),
        ),
        _ => (
            vec![CompareOp::Eq, CompareOp::Ne, CompareOp::Gt, CompareOp::Ge, CompareOp::Lt, CompareOp::Le],
            date_literal().boxed(),
        ),
    };
    let spelled_path = spelled(name, urn_allowed).boxed();
    prop_oneof![
        6 => (spelled_path.clone(), prop::sample::select(ops), value)
            .prop_map(|(p, op, value)| Filter::Compare { path: path(p), op, value, value_position: 0 }),
        1 => spelled_path.clone().prop_map(|p| Filter::Present { path: path(p) }),
        1 => (spelled_path, prop::sample::select(vec![CompareOp::Eq, CompareOp::Ne]))
            .prop_map(|(p, op)| Filter::Compare { path: path(p), op, value: Literal::Null, value_position: 0 }),
    ]
    .boxed()
}

fn leaf() -> BoxedStrategy<Filter> {
    let leaves: Vec<BoxedStrategy<Filter>> =
        filterable().into_iter().map(|(name, attribute)| leaf_for(name, attribute, true)).collect();
    let meta_group = prop::collection::vec(
        prop::sample::select(META_ATTRIBUTES.iter().filter(|a| a.column.is_some()).collect::<Vec<_>>())
            .prop_flat_map(|a| leaf_for(a.name.to_owned(), a, false)),
        1..3,
    )
    .prop_map(|parts| Filter::Group {
        path: path("meta".into()),
        filter: Box::new(if parts.len() == 1 { parts[0].clone() } else { Filter::And(parts) }),
    });
    prop_oneof![10 => prop::strategy::Union::new(leaves), 1 => meta_group].boxed()
}

fn filter() -> impl Strategy<Value = Filter> {
    leaf().prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(Filter::And),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Filter::Or),
            inner.prop_map(|f| Filter::Not(Box::new(f))),
        ]
    })
}

fn table(devices: &[OtpDevice]) -> rusqlite::Connection {
    let db = rusqlite::Connection::open_in_memory().unwrap();
    let columns = columns();
    let ddl: Vec<String> = columns.iter().map(|(c, t)| format!("{c} {t}")).collect();
    db.execute(&format!("CREATE TABLE devices ({})", ddl.join(", ")), []).unwrap();
    let placeholders = vec!["?"; columns.len()].join(", ");
    let names: Vec<&str> = columns.iter().map(|(c, _)| *c).collect();
    let insert = format!("INSERT INTO devices ({}) VALUES ({placeholders})", names.join(", "));
    for device in devices {
        let row: Vec<SqlValue> = columns
            .iter()
            .map(|(column, _)| {
                let attribute =
                    ATTRIBUTES.iter().chain(META_ATTRIBUTES).find(|a| a.column == Some(column)).unwrap();
                match (attribute.read)(device) {
                    Value::Absent => SqlValue::Null,
                    Value::Int(n) => SqlValue::Integer(n),
                    Value::Text(s) => SqlValue::Text(s.to_owned()),
                }
            })
            .collect();
        db.execute(&insert, rusqlite::params_from_iter(row)).unwrap();
    }
    db
}

fn sql_ids(db: &rusqlite::Connection, condition: &Condition) -> Vec<i64> {
    let clause = condition.to_sql();
    let params: Vec<SqlValue> = clause
        .params
        .into_iter()
        .map(|p| match p {
            SqlParam::Int(n) => SqlValue::Integer(n),
            SqlParam::Real(x) => SqlValue::Real(x),
            SqlParam::Text(s) => SqlValue::Text(s),
        })
        .collect();
    let mut statement =
        db.prepare(&format!("SELECT id FROM devices WHERE {} ORDER BY id", clause.sql)).unwrap();
    statement
        .query_map(rusqlite::params_from_iter(params), |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2500))]

    #[test]
    fn evaluator_and_sql_select_the_same_devices(
        devices in devices(),
        generated in filter(),
    ) {
        // Through the text form: the parser must read back what Display wrote.
        let text = generated.to_string();
        let condition = Condition::resolve(&parse(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?)
            .map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        let evaluated: Vec<i64> = devices.iter().filter(|d| condition.matches(d)).map(|d| d.id).collect();
        let db = table(&devices);
        prop_assert_eq!(sql_ids(&db, &condition), evaluated, "filter: {}", text);
    }
}

fn sort() -> impl Strategy<Value = Sort> {
    let names: Vec<String> = filterable().into_iter().map(|(name, _)| name).collect();
    (prop::sample::select(names), any::<bool>()).prop_map(|(name, descending)| {
        let order = if descending { "descending" } else { "ascending" };
        Sort::parse(Some(&name), Some(order)).unwrap().unwrap()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// RFC 7644 §3.4.2.3 puts resources without the value last ascending and first descending;
    /// SQLite alone does the opposite, so this fails if either side forgets.
    #[test]
    fn evaluator_and_sql_sort_the_same_way(
        devices in devices(),
        sort in sort(),
    ) {
        let db = table(&devices);
        let sql = format!("SELECT id FROM devices ORDER BY {}", Sort::order_by_sql(Some(&sort)));
        let mut statement = db.prepare(&sql).unwrap();
        let from_sql: Vec<i64> = statement.query_map([], |row| row.get(0)).unwrap().map(Result::unwrap).collect();
        let mut devices = devices;
        devices.sort_by(|a, b| Sort::compare(Some(&sort), a, b));
        let evaluated: Vec<i64> = devices.iter().map(|d| d.id).collect();
        prop_assert_eq!(from_sql, evaluated, "sort: {}", Sort::order_by_sql(Some(&sort)));
    }
}
