//! CTE scope tracking while a visitor walks a query, modelled on DataFusion's `resolve.rs`.
//!
//! A single-part table name refers to a CTE only where that CTE is visible: in the body of the
//! `WITH` that defines it, in later CTEs of the same `WITH`, in its own body when recursive, and
//! in every query nested inside those. Anywhere else the same name is the base table, which is
//! what the row-scope rewrite must see (`WITH orders AS (SELECT * FROM orders) ...`: the inner
//! `orders` is the base table).
//!
//! The visitor visits a query's `WITH` before its body and each CTE body as a nested query, in
//! order, so a frame counts the CTE bodies it has seen to know which names are visible.

use sqlparser::ast::Query;

use super::names::fold;
use crate::dialect::Dialect;

struct Frame {
    names: Vec<String>,
    recursive: bool,
    /// CTE bodies of this frame already visited.
    done: usize,
    /// How many of `names` are visible now.
    visible: usize,
    /// This query is a CTE body of the frame below it.
    is_cte_body: bool,
}

/// The CTE names visible at the current point of a walk.
#[derive(Default)]
pub(crate) struct CteScopes {
    frames: Vec<Frame>,
}

impl CteScopes {
    /// Call from `pre_visit_query`.
    pub(crate) fn enter(&mut self, query: &Query, dialect: Dialect) {
        let mut is_cte_body = false;
        if let Some(top) = self.frames.last_mut()
            && top.done < top.names.len()
        {
            top.visible = if top.recursive { top.done + 1 } else { top.done };
            is_cte_body = true;
        }
        let (names, recursive) = match &query.with {
            Some(with) => (with.cte_tables.iter().map(|c| fold(&c.alias.name, dialect)).collect(), with.recursive),
            None => (Vec::new(), false),
        };
        self.frames.push(Frame { names, recursive, done: 0, visible: 0, is_cte_body });
    }

    /// Call from `post_visit_query`.
    pub(crate) fn exit(&mut self) {
        if let Some(frame) = self.frames.pop()
            && frame.is_cte_body
            && let Some(top) = self.frames.last_mut()
        {
            top.done += 1;
            top.visible = top.done;
        }
    }

    /// Whether a folded single-part name refers to a visible CTE.
    pub(crate) fn is_cte(&self, name: &str) -> bool {
        self.frames.iter().rev().any(|f| f.names[..f.visible.min(f.names.len())].iter().any(|n| n == name))
    }
}
