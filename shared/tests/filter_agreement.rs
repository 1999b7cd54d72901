//! The filter evaluator and the SQL compiler must select the same devices. Random filters over
//! random device sets run through both: `Condition::matches` in Rust, and `Condition::to_sql` on
//! an in-memory SQLite table whose columns come from the attribute table itself. Sorting too:
//! `Sort::compare` in Rust and `Sort::order_by_sql` in SQLite must give the same order.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use proptest::prelude::*;
use rusqlite::types::Value as SqlValue;
use serde_json::Value as Json;
use shared::filter::{AttrPath, CompareOp, Condition, Filter, Literal, SqlParam, parse};
use shared::model::{DEVICE_SCHEMA, Meta, MultiValue, Name, USER_SCHEMA, User};
use shared::query::Sort;
use shared::schema::{AttrType, Attribute, DEVICE, Resource, USER, Value};
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

/// One column of a resource's table and the attribute it holds (`parent` for `meta.created`).
struct Column {
    name: &'static str,
    sql_type: &'static str,
    parent: Option<&'static Attribute>,
    attribute: &'static Attribute,
}

/// The plain columns of a resource's table, once each (`created` backs two device attributes);
/// `id` is the integer key. The entries of multi-valued attributes live in `user_contacts`.
fn columns(resource: &'static Resource) -> Vec<Column> {
    let mut out: Vec<Column> = Vec::new();
    let singles = resource.attributes.iter().filter(|a| !a.multi_valued);
    let all = singles
        .flat_map(|a| std::iter::once((None, a)).chain(a.sub_attributes.iter().map(move |s| (Some(a), s))));
    for (parent, attribute) in all {
        let Some(name) = attribute.column.filter(|c| c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
        else {
            continue;
        };
        if name == "id" || out.iter().any(|c| c.name == name) {
            continue;
        }
        let sql_type = if attribute.kind == AttrType::String { "TEXT" } else { "INTEGER" };
        out.push(Column { name, sql_type, parent, attribute });
    }
    out
}

/// Every filterable path of a resource, with its attribute.
fn filterable(resource: &'static Resource) -> Vec<(String, &'static Attribute)> {
    let mut out = Vec::new();
    for a in resource.attributes {
        if a.column.is_some() {
            out.push((a.name.to_owned(), a));
        }
        for sub in a.sub_attributes.iter().filter(|s| s.column.is_some()) {
            out.push((format!("{}.{}", a.name, sub.name), sub));
        }
    }
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
                meta: Meta::new("OtpDevice", Timestamp(EPOCH + created), Timestamp(EPOCH + modified), 1),
            }
        },
    )
}

const TYPES: &[&str] = &["work", "home", "other", "mobile", "Custom"];

fn entries() -> impl Strategy<Value = Vec<MultiValue>> {
    let entry = (
        prop::sample::select([EMAILS, PHONES].concat()),
        prop::option::of(prop::sample::select(TYPES)),
        prop::option::of(any::<bool>()),
    )
        .prop_map(|(value, kind, primary)| MultiValue {
            value: value.to_owned(),
            kind: kind.map(str::to_owned),
            primary,
        });
    prop::collection::vec(entry, 0..3)
}

fn user() -> impl Strategy<Value = User> {
    let words = || prop::option::of(prop::sample::select(WORDS).prop_map(str::to_owned));
    (
        (prop::sample::select(USERS), words(), words(), words(), words(), any::<bool>()),
        (entries(), entries(), 0..SPAN, 0..SPAN),
    )
        .prop_map(
            |((user_name, external_id, display_name, given, family, active), (emails, phones, c, m))| User {
                schemas: vec![USER_SCHEMA.into()],
                id: String::new(),
                external_id,
                user_name: user_name.to_owned(),
                display_name,
                name: Name { formatted: None, family_name: family, given_name: given },
                active,
                emails,
                phone_numbers: phones,
                meta: Meta::new("User", Timestamp(EPOCH + c), Timestamp(EPOCH + m), 1),
            },
        )
}

/// Up to 30 random resources with ids 1, 2, 3, …, in their JSON form.
fn numbered<T: serde::Serialize + std::fmt::Debug>(
    one: impl Strategy<Value = T>,
) -> impl Strategy<Value = Vec<Json>> {
    prop::collection::vec(one, 0..30).prop_map(|list| {
        list.iter()
            .enumerate()
            .map(|(i, r)| {
                let mut json = serde_json::to_value(r).unwrap();
                json["id"] =
                    if json["id"].is_string() { Json::from((i + 1).to_string()) } else { Json::from(i + 1) };
                json
            })
            .collect()
    })
}

fn devices() -> impl Strategy<Value = Vec<Json>> {
    numbered(device())
}

fn users() -> impl Strategy<Value = Vec<Json>> {
    numbered(user())
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
fn spelled(schema: &'static str, name: String, urn_allowed: bool) -> impl Strategy<Value = String> {
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
        if urn && urn_allowed { format!("{schema}:{cased}") } else { cased }
    })
}

fn path(text: String) -> AttrPath {
    AttrPath { text, position: 0 }
}

const ORDERED: &[CompareOp] =
    &[CompareOp::Eq, CompareOp::Ne, CompareOp::Gt, CompareOp::Ge, CompareOp::Lt, CompareOp::Le];

fn leaf_for(
    schema: &'static str,
    name: String,
    attribute: &'static Attribute,
    urn_allowed: bool,
) -> BoxedStrategy<Filter> {
    let (ops, value): (Vec<CompareOp>, BoxedStrategy<Literal>) = match attribute.kind {
        AttrType::String => (
            CompareOp::ALL.to_vec(),
            prop::sample::select([WORDS, EMAILS, PHONES, TYPES].concat())
                .prop_map(|w| Literal::Str(w.to_owned()))
                .boxed(),
        ),
        AttrType::Boolean => {
            (vec![CompareOp::Eq, CompareOp::Ne], any::<bool>().prop_map(Literal::Bool).boxed())
        }
        AttrType::Integer => (
            ORDERED.to_vec(),
            prop_oneof![
                (-1i64..40).prop_map(Literal::Int),
                (-2i64..80).prop_map(|n| Literal::Real(n as f64 / 2.0))
            ]
            .boxed(),
        ),
        _ => (ORDERED.to_vec(), date_literal().boxed()),
    };
    let spelled_path = spelled(schema, name, urn_allowed).boxed();
    prop_oneof![
        6 => (spelled_path.clone(), prop::sample::select(ops), value)
            .prop_map(|(p, op, value)| Filter::Compare { path: path(p), op, value, value_position: 0 }),
        1 => spelled_path.clone().prop_map(|p| Filter::Present { path: path(p) }),
        1 => (spelled_path, prop::sample::select(vec![CompareOp::Eq, CompareOp::Ne]))
            .prop_map(|(p, op)| Filter::Compare { path: path(p), op, value: Literal::Null, value_position: 0 }),
    ]
    .boxed()
}

/// `attr[...]` over the sub-attributes of a complex attribute (`meta`, `name`, `emails`), and
/// for multi-valued ones also a bare `emails op value`, which compares `value`.
fn group(schema: &'static str, attribute: &'static Attribute) -> BoxedStrategy<Filter> {
    let subs: Vec<&'static Attribute> =
        attribute.sub_attributes.iter().filter(|a| a.column.is_some()).collect();
    let inner = prop::collection::vec(
        prop::sample::select(subs).prop_flat_map(move |a| leaf_for(schema, a.name.to_owned(), a, false)),
        1..3,
    )
    .prop_map(|parts| if parts.len() == 1 { parts[0].clone() } else { Filter::And(parts) });
    let name = attribute.name;
    let grouped =
        inner.prop_map(move |filter| Filter::Group { path: path(name.into()), filter: Box::new(filter) });
    match attribute.multi_valued {
        true => prop_oneof![3 => grouped, 1 => leaf_for(schema, name.to_owned(), &attribute.sub_attributes[0], true)
            .prop_map(move |leaf| match leaf {
                Filter::Compare { op, value, .. } => Filter::Compare { path: path(name.into()), op, value, value_position: 0 },
                other => other,
            })]
        .boxed(),
        false => grouped.boxed(),
    }
}

fn leaf(resource: &'static Resource) -> BoxedStrategy<Filter> {
    let leaves: Vec<BoxedStrategy<Filter>> = filterable(resource)
        .into_iter()
        .map(|(name, attribute)| leaf_for(resource.schema, name, attribute, true))
        .collect();
    let groups: Vec<BoxedStrategy<Filter>> = resource
        .attributes
        .iter()
        .filter(|a| a.sub_attributes.iter().any(|s| s.column.is_some()))
        .map(|a| group(resource.schema, a))
        .collect();
    prop_oneof![5 => prop::strategy::Union::new(leaves), 1 => prop::strategy::Union::new(groups)].boxed()
}

fn filter(resource: &'static Resource) -> impl Strategy<Value = Filter> {
    leaf(resource).prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(Filter::And),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Filter::Or),
            inner.prop_map(|f| Filter::Not(Box::new(f))),
        ]
    })
}

fn sql_value(value: Value<'_>) -> SqlValue {
    match value {
        Value::Absent => SqlValue::Null,
        Value::Int(n) => SqlValue::Integer(n),
        Value::Text(s) => SqlValue::Text(s.to_owned()),
    }
}

fn numeric_id(resource: &Json) -> i64 {
    resource["id"].as_i64().or_else(|| resource["id"].as_str().and_then(|s| s.parse().ok())).unwrap()
}

/// An in-memory table named as the store names it (`devices`, `users`), built from the
/// attribute table, holding the resources; users' entries go to `user_contacts`.
fn table(resource: &'static Resource, table: &str, resources: &[Json]) -> rusqlite::Connection {
    let db = rusqlite::Connection::open_in_memory().unwrap();
    let columns = columns(resource);
    let ddl: Vec<String> = std::iter::once("id INTEGER PRIMARY KEY".to_owned())
        .chain(columns.iter().map(|c| format!("{} {}", c.name, c.sql_type)))
        .collect();
    db.execute(&format!("CREATE TABLE {table} ({})", ddl.join(", ")), []).unwrap();
    db.execute(
        "CREATE TABLE user_contacts (user_id INTEGER, kind TEXT, value TEXT, type TEXT, is_primary INTEGER)",
        [],
    )
    .unwrap();
    let names: Vec<&str> = std::iter::once("id").chain(columns.iter().map(|c| c.name)).collect();
    let placeholders = vec!["?"; names.len()].join(", ");
    let insert = format!("INSERT INTO {table} ({}) VALUES ({placeholders})", names.join(", "));
    for json in resources {
        let row: Vec<SqlValue> = std::iter::once(SqlValue::Integer(numeric_id(json)))
            .chain(columns.iter().map(|c| {
                let holder = match c.parent {
                    None => Some(json),
                    Some(parent) => json.get(parent.name),
                };
                holder.map_or(SqlValue::Null, |h| sql_value(c.attribute.read(h)))
            }))
            .collect();
        db.execute(&insert, rusqlite::params_from_iter(row)).unwrap();
        for (name, kind) in [("emails", "email"), ("phoneNumbers", "phone")] {
            let Some(attribute) = resource.attribute(name) else { continue };
            for entry in json.get(name).and_then(Json::as_array).into_iter().flatten() {
                let read = |sub: &str| sql_value(attribute.sub_attribute(sub).unwrap().read(entry));
                db.execute(
                    "INSERT INTO user_contacts VALUES (?, ?, ?, ?, ?)",
                    rusqlite::params![numeric_id(json), kind, read("value"), read("type"), read("primary")],
                )
                .unwrap();
            }
        }
    }
    db
}

fn sql_ids(db: &rusqlite::Connection, table: &str, condition: &Condition) -> Vec<i64> {
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
        db.prepare(&format!("SELECT id FROM {table} WHERE {} ORDER BY id", clause.sql)).unwrap();
    statement
        .query_map(rusqlite::params_from_iter(params), |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// The same filter through both backends; through the text form, so the parser must read back
/// what Display wrote.
fn agree(
    resource: &'static Resource,
    table_name: &str,
    resources: &[Json],
    generated: &Filter,
) -> Result<(), TestCaseError> {
    let text = generated.to_string();
    let parsed = parse(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
    let condition =
        Condition::resolve(resource, &parsed).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
    let evaluated: Vec<i64> = resources.iter().filter(|r| condition.matches(r)).map(numeric_id).collect();
    let db = table(resource, table_name, resources);
    prop_assert_eq!(sql_ids(&db, table_name, &condition), evaluated, "filter: {}", text);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2500))]

    #[test]
    fn evaluator_and_sql_select_the_same_devices(devices in devices(), generated in filter(&DEVICE)) {
        agree(&DEVICE, "devices", &devices, &generated)?;
    }

    #[test]
    fn evaluator_and_sql_select_the_same_users(users in users(), generated in filter(&USER)) {
        agree(&USER, "users", &users, &generated)?;
    }
}

/// Sortable paths: single-valued attributes with a column.
fn sort(resource: &'static Resource) -> impl Strategy<Value = Sort> {
    let names: Vec<String> = filterable(resource)
        .into_iter()
        .filter(|(name, _)| {
            resource
                .resolve(name)
                .is_some_and(|r| !r.attribute.multi_valued && !r.parent.is_some_and(|p| p.multi_valued))
        })
        .map(|(name, _)| name)
        .collect();
    (prop::sample::select(names), any::<bool>()).prop_map(move |(name, descending)| {
        let order = if descending { "descending" } else { "ascending" };
        Sort::parse(resource, Some(&name), Some(order)).unwrap().unwrap()
    })
}

fn sorts_agree(
    resource: &'static Resource,
    table_name: &str,
    resources: &[Json],
    sort: &Sort,
) -> Result<(), TestCaseError> {
    let db = table(resource, table_name, resources);
    let sql = format!("SELECT id FROM {table_name} ORDER BY {}", Sort::order_by_sql(Some(sort)));
    let mut statement = db.prepare(&sql).unwrap();
    let from_sql: Vec<i64> = statement.query_map([], |row| row.get(0)).unwrap().map(Result::unwrap).collect();
    let mut sorted = resources.to_vec();
    sorted.sort_by(|a, b| Sort::compare(Some(sort), a, b));
    let evaluated: Vec<i64> = sorted.iter().map(numeric_id).collect();
    prop_assert_eq!(from_sql, evaluated, "sort: {}", Sort::order_by_sql(Some(sort)));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// RFC 7644 §3.4.2.3 puts resources without the value last ascending and first descending;
    /// SQLite alone does the opposite, so this fails if either side forgets.
    #[test]
    fn evaluator_and_sql_sort_devices_the_same_way(devices in devices(), sort in sort(&DEVICE)) {
        sorts_agree(&DEVICE, "devices", &devices, &sort)?;
    }

    #[test]
    fn evaluator_and_sql_sort_users_the_same_way(users in users(), sort in sort(&USER)) {
        sorts_agree(&USER, "users", &users, &sort)?;
    }
}
