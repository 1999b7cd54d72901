//! Listings of one tenant's rows: filter, sort and page in SQL (SPEC §4).

use super::sql::{
    AUDIT_COLUMNS, AUTHENTICATOR_ROWS, DEVICE_COLUMNS, OATH, OATH_DEVICE_COLUMNS, OWNED, POLICY_COLUMNS,
    USER_COLUMNS, authenticator_columns,
};
use crate::db::{Database, DbError, Rows, Sql};
use shared::filter::Condition;
use shared::query::{Page, Sort};

/// The resource tables a listing can run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Devices,
    OathDevices,
    /// The Device listing with what an export writes out: the sealed secret and the counter.
    OathSecrets,
    Users,
    Policies,
    Authenticators,
    Audit,
}

impl Table {
    /// The resource whose attribute table names this table's columns.
    pub fn resource(self) -> &'static shared::schema::Resource {
        match self {
            Table::Devices => &shared::schema::DEVICE,
            Table::OathDevices | Table::OathSecrets => &shared::schema::OATH_DEVICE,
            Table::Users => &shared::schema::USER,
            Table::Policies => &shared::schema::POLICY,
            Table::Authenticators => &shared::schema::AUTHENTICATOR,
            Table::Audit => &shared::schema::AUDIT,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Table::Devices | Table::OathDevices | Table::OathSecrets => "devices",
            Table::Users => "users",
            Table::Policies => "policies",
            Table::Authenticators => AUTHENTICATOR_ROWS,
            Table::Audit => "audit",
        }
    }

    /// Which of the table's rows are this resource's, as a condition (`None`: all of them).
    fn rows(self) -> Option<&'static str> {
        match self {
            Table::Devices => Some(OWNED),
            Table::OathDevices | Table::OathSecrets => Some(OATH),
            Table::Users | Table::Policies | Table::Authenticators | Table::Audit => None,
        }
    }

    /// What a listing selects; `{now}` stands for the request's instant (see [`ListQuery::at`]).
    fn columns(self) -> std::borrow::Cow<'static, str> {
        match self {
            Table::Devices => DEVICE_COLUMNS.into(),
            Table::OathDevices => OATH_DEVICE_COLUMNS.into(),
            Table::OathSecrets => format!("{OATH_DEVICE_COLUMNS}, seed, hotp_counter, totp_last_step").into(),
            Table::Users => USER_COLUMNS.into(),
            Table::Policies => POLICY_COLUMNS.into(),
            Table::Authenticators => authenticator_columns().into(),
            Table::Audit => AUDIT_COLUMNS.into(),
        }
    }
}

/// The two statements a listing runs: the match count, and one page (its last two parameters are
/// LIMIT and OFFSET). Public so that the benchmark can `EXPLAIN QUERY PLAN` exactly these.
/// A listing's two statements over the same `WHERE` and its parameters: the page, which carries
/// the count as a scalar subquery in a `total` column (one statement, one round trip on a network
/// store), and the count alone, for the `count=0` question and for a page that came back empty.
pub struct ListQuery {
    pub count_sql: String,
    pub page_sql: String,
    pub params: Vec<Sql>,
}

impl ListQuery {
    /// SQLite's `EXPLAIN QUERY PLAN` of the page (its first 100) and of the count, each as its
    /// details joined by ", ": what the benchmark prints and the plan tests check.
    pub fn explain(&self, db: &dyn Database) -> Result<[String; 2], DbError> {
        let plan = |sql: &str, params: Vec<Sql>| -> Result<String, DbError> {
            let rows = db.execute(&format!("EXPLAIN QUERY PLAN {sql}"), &params)?;
            let details =
                rows.iter().map(|r| r.text("detail").map(str::to_owned)).collect::<Result<Vec<_>, _>>()?;
            Ok(details.join(", "))
        };
        Ok([plan(&self.page_sql, self.page_params(100, 0))?, plan(&self.count_sql, self.params.clone())?])
    }

    /// The listing as of `now`: what the columns say of the request's instant (an authenticator's
    /// `status.active`) is said of `now`, an integer put in for `{now}`.
    pub fn at(mut self, now: i64) -> ListQuery {
        let now = now.to_string();
        self.count_sql = self.count_sql.replace("{now}", &now);
        self.page_sql = self.page_sql.replace("{now}", &now);
        self
    }

    /// The page's parameters: the `WHERE`'s for the count subquery, again for the rows, then
    /// `LIMIT` and `OFFSET`.
    pub fn page_params(&self, limit: i64, offset: i64) -> Vec<Sql> {
        let mut params = self.params.clone();
        params.extend(self.params.iter().cloned());
        params.push(Sql::Int(limit));
        params.push(Sql::Int(offset));
        params
    }
}

/// A listing of one tenant's rows: the tenant is the first parameter of every listing, and the
/// first column of every index, so no filter can reach another tenant's rows.
pub fn list_query(
    table: Table,
    tenant: &str,
    condition: Option<&Condition>,
    sort: Option<&Sort>,
) -> ListQuery {
    let (clause, params) = where_clause(table, tenant, condition);
    let name = table.name();
    ListQuery {
        count_sql: format!("SELECT count(*) AS total FROM {name}{clause}"),
        page_sql: format!(
            "SELECT (SELECT count(*) FROM {name}{clause}) AS total, {} FROM {name}{clause} ORDER BY {} \
             LIMIT ? OFFSET ?",
            table.columns(),
            Sort::order_by_sql(sort)
        ),
        params,
    }
}

/// The `WHERE` of a listing (with its leading space) and its parameters: the tenant's rows of
/// the table's resource that match the filter.
pub fn where_clause(table: Table, tenant: &str, condition: Option<&Condition>) -> (String, Vec<Sql>) {
    let mut params = vec![Sql::from(tenant)];
    let mut clause = " WHERE tenant = ?".to_owned();
    if let Some(rows) = table.rows() {
        clause = format!("{clause} AND {rows}");
    }
    if let Some(c) = condition {
        let w = c.to_sql();
        params.extend(w.params.into_iter().map(Sql::from));
        clause = format!("{clause} AND {}", w.sql);
    }
    (clause, params)
}

/// Runs a listing: how many match in all, and the rows of one page. Filter, order, limit and
/// offset all run in SQLite; a page with rows is one statement, its rows carrying the count.
pub(super) fn run_list(db: &dyn Database, query: ListQuery, page: Page) -> Result<(u64, Rows), DbError> {
    let count = || -> Result<u64, DbError> {
        let total = db.execute(&query.count_sql, &query.params)?;
        total.first().ok_or_else(|| DbError("count(*) returned no row".into()))?.count("total")
    };
    if page.count == 0 {
        return Ok((count()?, Rows::default()));
    }
    let offset = i64::try_from(page.offset()).unwrap_or(i64::MAX);
    let rows = db.execute(&query.page_sql, &query.page_params(page.count as i64, offset))?;
    match rows.first() {
        Some(first) => Ok((first.count("total")?, rows)),
        // No row to carry the count: none match, or the page starts past the end.
        None => Ok((count()?, rows)),
    }
}
