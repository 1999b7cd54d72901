//! Compiles a [`Condition`] to a SQLite `WHERE` clause with bound parameters.
//!
//! Column names come only from the static attribute table and every value is a `?` parameter:
//! no text of the request is ever spliced into SQL. Each leaf is written so that it is never
//! NULL (a missing attribute makes a comparison false, not unknown), which keeps `not ( )`
//! two-valued and equal to the evaluator.

use super::condition::fold;
use super::{Condition, Op, Operand, Test};

#[derive(Debug, Clone, PartialEq)]
pub enum SqlParam {
    Int(i64),
    Real(f64),
    Text(String),
}

/// `sql` is a boolean expression; `params` bind its `?` placeholders in order.
#[derive(Debug, Clone, PartialEq)]
pub struct SqlWhere {
    pub sql: String,
    pub params: Vec<SqlParam>,
}

impl Condition {
    pub fn to_sql(&self) -> SqlWhere {
        let mut out = SqlWhere { sql: String::new(), params: Vec::new() };
        write(self, &mut out);
        out
    }
}

fn write(condition: &Condition, out: &mut SqlWhere) {
    match condition {
        Condition::And(parts) => join(parts, " AND ", out),
        Condition::Or(parts) => join(parts, " OR ", out),
        Condition::Not(inner) => {
            out.sql.push_str("NOT (");
            write(inner, out);
            out.sql.push(')');
        }
        Condition::Any { attribute, filter } => {
            // Only attributes kept in a table of their own are multi-valued.
            out.sql.push_str(attribute.entries_sql.unwrap_or("0 IN (SELECT 1 WHERE 0"));
            out.sql.push_str(" AND ");
            write(filter, out);
            out.sql.push(')');
        }
        Condition::Leaf(leaf) => {
            // Only filterable attributes (those with a column) are ever resolved into a leaf.
            let column = leaf.attribute.column.unwrap_or("NULL");
            leaf_sql(column, &leaf.test, out);
        }
    }
}

fn join(parts: &[Condition], word: &str, out: &mut SqlWhere) {
    out.sql.push('(');
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.sql.push_str(word);
        }
        write(part, out);
    }
    out.sql.push(')');
}

fn leaf_sql(column: &str, test: &Test, out: &mut SqlWhere) {
    let (op, operand, fold_case) = match test {
        Test::Present => return out.sql.push_str(&format!("({column} IS NOT NULL)")),
        Test::Absent => return out.sql.push_str(&format!("({column} IS NULL)")),
        Test::Compare { op, operand, fold_case } => (*op, operand, *fold_case),
    };
    let param = match operand {
        Operand::Text(text) => {
            // An empty needle is in every string: `co ""`, `sw ""`, `ew ""` mean "present".
            if text.is_empty() && matches!(op, Op::Co | Op::Sw | Op::Ew) {
                return out.sql.push_str(&format!("({column} IS NOT NULL)"));
            }
            SqlParam::Text(fold(text, fold_case).into_owned())
        }
        Operand::Int(n) => SqlParam::Int(*n),
        Operand::Real(x) => SqlParam::Real(*x),
    };
    let value = if fold_case { format!("lower({column})") } else { column.to_owned() };
    let (sql, uses) = match op {
        Op::Ne => (format!("({column} IS NULL OR {value} <> ?)"), 1),
        Op::Co => (format!("({column} IS NOT NULL AND instr({value}, ?) > 0)"), 1),
        Op::Sw => (format!("({column} IS NOT NULL AND substr({value}, 1, length(?)) = ?)"), 2),
        Op::Ew => (format!("({column} IS NOT NULL AND substr({value}, -length(?)) = ?)"), 2),
        Op::Eq | Op::Gt | Op::Ge | Op::Lt | Op::Le => {
            let symbol = match op {
                Op::Eq => "=",
                Op::Gt => ">",
                Op::Ge => ">=",
                Op::Lt => "<",
                _ => "<=",
            };
            (format!("({column} IS NOT NULL AND {value} {symbol} ?)"), 1)
        }
    };
    out.sql.push_str(&sql);
    for _ in 0..uses {
        out.params.push(param.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::schema::{DEVICE, USER};

    #[test]
    fn values_are_bound_never_spliced() {
        let w = Condition::compile(&DEVICE, r#"user eq "x' OR 1=1 --" and fails gt 2"#).unwrap().to_sql();
        assert_eq!(
            w.sql,
            "((user_name IS NOT NULL AND user_name = ?) AND (fails IS NOT NULL AND fails > ?))"
        );
        assert_eq!(w.params, [SqlParam::Text("x' OR 1=1 --".into()), SqlParam::Int(2)]);
    }

    #[test]
    fn canonical_values_compare_exactly_so_indexes_serve_them() {
        let w = Condition::compile(&DEVICE, r#"type eq "totp""#).unwrap().to_sql();
        assert_eq!(w.sql, "(type IS NOT NULL AND type = ?)");
        assert_eq!(w.params, [SqlParam::Text("TOTP".into())]);
    }

    #[test]
    fn dates_become_instants() {
        let w = Condition::compile(&DEVICE, r#"lastUsed le "2022-01-01""#).unwrap().to_sql();
        assert_eq!(w.params, [SqlParam::Int(1_640_995_200)]);
        let w = Condition::compile(&DEVICE, r#"meta[lastModified gt "2022-01-01T00:00:00.5Z"]"#)
            .unwrap()
            .to_sql();
        assert_eq!(w.sql, "(modified IS NOT NULL AND modified > ?)");
        assert_eq!(w.params, [SqlParam::Real(1_640_995_200.5)]);
    }

    #[test]
    fn value_paths_select_from_the_entries() {
        let w =
            Condition::compile(&USER, r#"emails[type eq "Work"].value co "@example.com""#).unwrap().to_sql();
        assert_eq!(
            w.sql,
            "users.id IN (SELECT c.user_id FROM user_contacts c WHERE c.kind = 'email' AND \
             ((c.type IS NOT NULL AND c.type = ?) AND (c.value IS NOT NULL AND instr(lower(c.value), ?) > 0)))"
        );
        assert_eq!(w.params, [SqlParam::Text("work".into()), SqlParam::Text("@example.com".into())]);
        let w =
            Condition::compile(&USER, r#"phoneNumbers eq "+1 555" and active eq false"#).unwrap().to_sql();
        assert_eq!(
            w.sql,
            "(users.id IN (SELECT c.user_id FROM user_contacts c WHERE c.kind = 'phone' AND \
             (c.value IS NOT NULL AND lower(c.value) = ?)) AND (active IS NOT NULL AND active = ?))"
        );
    }
}
