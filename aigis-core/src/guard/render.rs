//! Rendering the checked AST: the only text that ever runs.
//!
//! sqlparser renders string literals the ANSI way (quotes doubled), but MySQL also treats a
//! backslash as an escape inside strings: `'a\\'` parses to `a\`, which would render as `'a\'`
//! and let the next quote end a different string than the one the guard checked. So for MySQL
//! backslashes are doubled in every string value before rendering.

use std::ops::ControlFlow;

use sqlparser::ast::{Query, Value as SqlValue, ValueWithSpan, VisitMut, VisitorMut};

use crate::dialect::Dialect;

/// Renders the query for the dialect.
pub(crate) fn render(query: &mut Query, dialect: Dialect) -> String {
    if dialect == Dialect::Mysql {
        let _ = query.visit(&mut MysqlEscaper);
    }
    query.to_string()
}

struct MysqlEscaper;

impl VisitorMut for MysqlEscaper {
    type Break = ();

    fn pre_visit_value(&mut self, value: &mut ValueWithSpan) -> ControlFlow<()> {
        match &mut value.value {
            SqlValue::SingleQuotedString(s) | SqlValue::DoubleQuotedString(s) | SqlValue::NationalStringLiteral(s)
                if s.contains('\\') =>
            {
                *s = s.replace('\\', "\\\\");
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }
}
