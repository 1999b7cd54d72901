//! Authenticator policies (SPEC §18): a tenant's rows keyed by code, its built-in set, and the
//! one default per kind.

use super::listing::{Table, list_query, run_list};
use super::sql::POLICY_COLUMNS;
use super::tx::{Store, WriteTx, write_raw};
use crate::db::{Database, DbError, Row, Sql};
use shared::audit::AuditAction;
use shared::filter::Condition;
use shared::model::Meta;
use shared::policy::{Policy, PolicyData, PolicyKind, Prompt};
use shared::query::{Page, Sort};
use shared::{Algorithm, Timestamp};

fn policy_from_row(row: Row<'_>) -> Result<Policy, DbError> {
    let code = row.text("id")?;
    let bad = |column: &str| DbError(format!("policy {code}: column {column} holds a value we never write"));
    let kind = PolicyKind::parse(row.text("kind")?).ok_or_else(|| bad("kind"))?;
    let algorithm = row
        .opt_text("algorithm")?
        .map(|a| Algorithm::parse(a).ok_or_else(|| bad("algorithm")))
        .transpose()?;
    let prompts: Vec<Prompt> = match row.opt_text("prompts")? {
        Some(json) => serde_json::from_str(json).map_err(|_| bad("prompts"))?,
        None => Vec::new(),
    };
    let number =
        |column: &str| -> Result<u32, DbError> { u32::try_from(row.int(column)?).map_err(|_| bad(column)) };
    let optional = |column: &str| -> Result<Option<u32>, DbError> {
        row.opt_int(column)?.map(|n| u32::try_from(n).map_err(|_| bad(column))).transpose()
    };
    let data = PolicyData {
        code: code.to_owned(),
        external_id: row.opt_text("external_id")?.map(str::to_owned),
        display_name: row.text("display_name")?.to_owned(),
        kind,
        is_default: row.int("is_default")? != 0,
        max_fails: number("max_fails")?,
        validity_days: number("validity_days")?,
        max_usages: number("max_usages")?,
        algorithm,
        digits: optional("digits")?,
        period: optional("period")?,
        code_ttl_seconds: optional("code_ttl")?,
        prompts,
        prompts_required: optional("prompts_required")?,
        prompts_asked: optional("prompts_asked")?,
    };
    let meta = Meta::new(
        "AuthenticatorPolicy",
        Timestamp(row.int("created")?),
        Timestamp(row.int("modified")?),
        row.int("version")?,
    );
    Ok(data.into_policy(meta))
}

impl Store<'_> {
    pub fn get_policy(&self, code: &str) -> Result<Option<Policy>, DbError> {
        let (db, tenant) = (self.db, self.actor.tenant);
        let rows = db.execute(
            &format!("SELECT {POLICY_COLUMNS} FROM policies WHERE tenant = ? AND id = ?"),
            &[tenant.into(), code.into()],
        )?;
        rows.first().map(policy_from_row).transpose()
    }

    /// The tenant's default policy of each kind: where a device created through `/OtpDevice` is
    /// bound (SPEC §14).
    pub fn default_policies(&self) -> Result<Vec<Policy>, DbError> {
        let (db, tenant) = (self.db, self.actor.tenant);
        let rows = db.execute(
            &format!("SELECT {POLICY_COLUMNS} FROM policies WHERE tenant = ? AND is_default = 1"),
            &[tenant.into()],
        )?;
        rows.iter().map(policy_from_row).collect()
    }

    /// One page of a tenant's policies matching a filter, and how many match in all.
    pub fn list_policies(
        &self,
        condition: Option<&Condition>,
        sort: Option<&Sort>,
        page: Page,
    ) -> Result<(u64, Vec<Policy>), DbError> {
        let (db, tenant) = (self.db, self.actor.tenant);
        let (total, rows) = run_list(db, list_query(Table::Policies, tenant, condition, sort), page)?;
        Ok((total, rows.iter().map(policy_from_row).collect::<Result<_, _>>()?))
    }
}

/// The columns a policy's data writes, in [`data_params`] order.
const DATA_COLUMNS: &str = "external_id, display_name, kind, is_default, max_fails, validity_days, max_usages, algorithm, digits, \
                            period, code_ttl, prompts, prompts_required, prompts_asked";

fn data_params(data: &PolicyData) -> Result<Vec<Sql>, DbError> {
    let prompts = match data.prompts.is_empty() {
        true => Sql::Null,
        false => Sql::Text(serde_json::to_string(&data.prompts).map_err(|e| DbError(e.to_string()))?),
    };
    Ok(vec![
        data.external_id.clone().into(),
        data.display_name.as_str().into(),
        data.kind.as_str().into(),
        i64::from(data.is_default).into(),
        i64::from(data.max_fails).into(),
        i64::from(data.validity_days).into(),
        i64::from(data.max_usages).into(),
        data.algorithm.map(Algorithm::as_str).into(),
        data.digits.map(i64::from).into(),
        data.period.map(i64::from).into(),
        data.code_ttl_seconds.map(i64::from).into(),
        prompts,
        data.prompts_required.map(i64::from).into(),
        data.prompts_asked.map(i64::from).into(),
    ])
}

/// Writes `tenant`'s built-in policies, once: the `tenants` row says they were written, so a
/// policy an admin deleted later does not come back, and concurrent first requests write them
/// once between them.
pub fn seed_tenant(
    db: &dyn Database,
    tenant: &str,
    policies: &[PolicyData],
    now: i64,
) -> Result<(), DbError> {
    write_raw(db, || {
        let fresh = db.execute(
            "INSERT INTO tenants (name, created) VALUES (?, ?) ON CONFLICT (name) DO NOTHING RETURNING name",
            &[tenant.into(), now.into()],
        )?;
        if fresh.is_empty() {
            return Ok(());
        }
        for data in policies {
            let mut params = vec![Sql::from(tenant), data.code.as_str().into()];
            params.extend(data_params(data)?);
            params.extend([now.into(), now.into()]);
            db.execute(
                &format!(
                    "INSERT INTO policies (tenant, id, {DATA_COLUMNS}, created, modified) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
                ),
                &params,
            )?;
        }
        db.execute(
            "INSERT INTO audit (tenant, at, actor, action, detail) VALUES (?, ?, 'scim-otp', ?, ?)",
            &[
                tenant.into(),
                now.into(),
                AuditAction::TenantSeeded.as_str().into(),
                format!("{} built-in policies", policies.len()).into(),
            ],
        )?;
        Ok(())
    })
}

/// Why a policy write was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyRefused {
    /// A policy of the tenant has this code already.
    CodeTaken,
    /// The policy changed meanwhile (its version moved on) or is gone.
    Stale,
    /// It is its kind's default: another policy of the kind must become the default first.
    IsDefault,
    /// Authenticators are bound to it (how many).
    InUse(u64),
}

impl WriteTx<'_> {
    /// A new default takes the default from the policy of its kind that had it.
    fn take_default(&self, data: &PolicyData) -> Result<(), DbError> {
        if data.is_default {
            self.db.execute(
                "UPDATE policies SET is_default = 0, version = version + 1, modified = ? \
                 WHERE tenant = ? AND kind = ? AND is_default = 1 AND id != ?",
                &[self.now.into(), self.tenant.into(), data.kind.as_str().into(), data.code.as_str().into()],
            )?;
        }
        Ok(())
    }

    pub fn create_policy(&self, data: &PolicyData) -> Result<Result<Policy, PolicyRefused>, DbError> {
        if self.reads().get_policy(&data.code)?.is_some() {
            return Ok(Err(PolicyRefused::CodeTaken));
        }
        self.take_default(data)?;
        let mut params = vec![Sql::from(self.tenant), data.code.as_str().into()];
        params.extend(data_params(data)?);
        params.extend([self.now.into(), self.now.into()]);
        let rows = self.db.execute(
            &format!(
                "INSERT INTO policies (tenant, id, {DATA_COLUMNS}, created, modified) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING {POLICY_COLUMNS}"
            ),
            &params,
        )?;
        let policy = rows
            .first()
            .map(policy_from_row)
            .transpose()?
            .ok_or_else(|| DbError("insert returned no row".into()))?;
        self.audit(AuditAction::PolicyCreate, None, &format!("{} ({})", policy.id, policy.kind.as_str()))?;
        Ok(Ok(policy))
    }

    /// Writes a PUT/PATCH result if the policy is still at `version`.
    pub fn replace_policy(
        &self,
        current: &Policy,
        version: i64,
        data: &PolicyData,
    ) -> Result<Result<Policy, PolicyRefused>, DbError> {
        if current.default && !data.is_default {
            return Ok(Err(PolicyRefused::IsDefault));
        }
        self.take_default(data)?;
        let assignments: Vec<String> = DATA_COLUMNS.split(", ").map(|c| format!("{c} = ?")).collect();
        let mut params = data_params(data)?;
        params.extend([self.now.into(), self.tenant.into(), current.id.as_str().into(), version.into()]);
        let rows = self.db.execute(
            &format!(
                "UPDATE policies SET {}, version = version + 1, modified = ? \
                 WHERE tenant = ? AND id = ? AND version = ? RETURNING {POLICY_COLUMNS}",
                assignments.join(", ")
            ),
            &params,
        )?;
        let Some(policy) = rows.first().map(policy_from_row).transpose()? else {
            return Ok(Err(PolicyRefused::Stale));
        };
        self.audit(AuditAction::PolicyReplace, None, &policy.id)?;
        Ok(Ok(policy))
    }

    /// Deletes a policy if it is still at `version` (any version when `None`), unless it is its
    /// kind's default or authenticators are bound to it (in the same transaction, so none can
    /// be bound meanwhile).
    pub fn delete_policy(
        &self,
        current: &Policy,
        version: Option<i64>,
    ) -> Result<Result<(), PolicyRefused>, DbError> {
        if current.default {
            return Ok(Err(PolicyRefused::IsDefault));
        }
        let bound = self.db.execute(
            "SELECT count(*) AS n FROM authenticators WHERE tenant = ? AND policy = ?",
            &[self.tenant.into(), current.id.as_str().into()],
        )?;
        let bound = bound.first().map(|row| row.count("n")).transpose()?.unwrap_or(0);
        if bound > 0 {
            return Ok(Err(PolicyRefused::InUse(bound)));
        }
        let rows = self.db.execute(
            "DELETE FROM policies WHERE tenant = ? AND id = ? AND is_default = 0 AND (? IS NULL OR version = ?) \
             RETURNING id",
            &[self.tenant.into(), current.id.as_str().into(), version.into(), version.into()],
        )?;
        if rows.is_empty() {
            return Ok(Err(PolicyRefused::Stale));
        }
        self.audit(AuditAction::PolicyDelete, None, &current.id)?;
        Ok(Ok(()))
    }
}
