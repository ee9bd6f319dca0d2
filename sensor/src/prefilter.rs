//! Planning a template program's literal prefilter.
//!
//! Every literal a leaf needs is interned once per selector (a field, or every string field
//! for keywords) and named by an id from then on: a rule's requirements, the finders and the
//! leaves answered from the finders' hits all refer to ids, so planning copies and hashes no
//! text after interning. An event's hits are recorded per id (`Marks` in `program.rs`).

use crate::prelude::*;

use alloc::collections::BTreeMap;
use core::hash::BuildHasher;

use crate::literals::LiteralFinder;
use crate::program::{FieldFilter, Sel};

/// Index of an interned literal within one template program.
pub(crate) type LiteralId = u32;

/// The distinct literals of one template program, per selector. Their text lives in one
/// arena and the table holds ids, so interning allocates nothing per literal: two boxed
/// strings per literal, allocated and freed, were a sixth of the time to load SigmaHQ's rules.
#[derive(Default)]
pub(crate) struct Literals {
    hasher: foldhash::fast::RandomState,
    table: hashbrown::HashTable<LiteralId>,
    arena: String,
    /// Where each literal's text is in `arena`.
    spans: Vec<(u32, u32)>,
    sels: Vec<Sel>,
}

impl Literals {
    /// The id of `text` (folded) under `sel`, added if new.
    pub(crate) fn intern(&mut self, sel: Sel, text: &str) -> LiteralId {
        let Literals {
            hasher,
            table,
            arena,
            spans,
            sels,
        } = self;
        let text_of = |id: LiteralId| span_text(arena, spans, id);
        let hash = hasher.hash_one((sel, text));
        let same = |&id: &LiteralId| sels.get(id as usize) == Some(&sel) && text_of(id) == text;
        if let Some(&id) = table.find(hash, same) {
            return id;
        }
        let id = spans.len() as LiteralId;
        let rehash = |&id: &LiteralId| {
            hasher.hash_one((
                sels.get(id as usize).copied().unwrap_or(Sel::Keyword),
                text_of(id),
            ))
        };
        table.insert_unique(hash, id, rehash);
        spans.push((arena.len() as u32, text.len() as u32));
        arena.push_str(text);
        sels.push(sel);
        id
    }

    /// Number of distinct literals: ids are below this.
    pub(crate) fn count(&self) -> usize {
        self.spans.len()
    }

    fn text(&self, id: LiteralId) -> &str {
        span_text(&self.arena, &self.spans, id)
    }

    fn len_of(&self, id: LiteralId) -> usize {
        self.text(id).len()
    }

    fn sel_of(&self, id: LiteralId) -> Option<Sel> {
        self.sels.get(id as usize).copied()
    }
}

/// The text of literal `id` in `arena` (empty for an unknown id).
fn span_text<'a>(arena: &'a str, spans: &[(u32, u32)], id: LiteralId) -> &'a str {
    spans
        .get(id as usize)
        .and_then(|&(start, len)| arena.get(start as usize..)?.get(..len as usize))
        .unwrap_or("")
}

/// Literals of which one must occur in the folded text of their selector: a disjunction.
pub(crate) type Group = Vec<LiteralId>;

/// What an expression needs from an event's literals to have any chance of being true.
#[derive(Clone, Debug)]
pub(crate) enum Need {
    /// It can never be true.
    Never,
    /// Every group must have a hit; no groups means no literal is needed.
    All(Vec<Group>),
}

impl Need {
    /// Needs no literal.
    pub(crate) fn none() -> Need {
        Need::All(Vec::new())
    }

    /// What an AND needs: every child's groups, strongest first, at most `max_groups`.
    pub(crate) fn and(children: Vec<Need>, literals: &Literals, max_groups: usize) -> Need {
        let mut groups = Vec::new();
        for child in children {
            match child {
                Need::Never => return Need::Never,
                Need::All(g) => groups.extend(g),
            }
        }
        groups.sort_by_key(|g| core::cmp::Reverse(group_strength(g, literals)));
        groups.truncate(max_groups);
        Need::All(groups)
    }

    /// What an OR (or an AT_LEAST of at least one) needs: groups each made of one group of
    /// every possible child (whichever child is true, each such group has a hit), the
    /// strongest `max_groups` of them; nothing if some child needs nothing.
    ///
    /// Keeping several groups, not only the union of each child's strongest, lets the plan
    /// pivot on the rarest: `(Image has \windows\ and CommandLine has \..\..\) or
    /// CommandLine has .exe\..\` needs both `{\windows\, .exe\..\}` and
    /// `{\..\..\, .exe\..\}`, and the common `\windows\` need not make it a candidate.
    pub(crate) fn or(children: Vec<Need>, literals: &Literals, max_groups: usize) -> Need {
        let mut product: Option<Vec<Group>> = None;
        for child in children {
            match child {
                Need::Never => {}
                Need::All(groups) if groups.is_empty() => return Need::none(),
                Need::All(groups) => {
                    product = Some(match product {
                        None => groups,
                        Some(sofar) => {
                            let mut next =
                                Vec::with_capacity(sofar.len().saturating_mul(groups.len()));
                            for left in &sofar {
                                for right in &groups {
                                    // A literal in both stays twice: harmless in an
                                    // any-of group, and no quadratic search.
                                    let mut union =
                                        Vec::with_capacity(left.len().saturating_add(right.len()));
                                    union.extend_from_slice(left);
                                    union.extend_from_slice(right);
                                    next.push(union);
                                }
                            }
                            next.sort_by_key(|g| core::cmp::Reverse(group_strength(g, literals)));
                            next.truncate(max_groups);
                            next
                        }
                    });
                }
            }
        }
        product.map_or(Need::Never, Need::All)
    }
}

/// Shortest literal of a group: longer literals hit benign text less often.
fn group_strength(group: &Group, literals: &Literals) -> usize {
    group
        .iter()
        .map(|&id| literals.len_of(id))
        .min()
        .unwrap_or(0)
}

/// The prefilter of a template program.
pub(crate) struct Plan {
    /// One finder per selector that has literals.
    pub(crate) filters: Vec<FieldFilter>,
    /// Rules (positions) evaluated for every event: no literal to filter on.
    pub(crate) always: Vec<u32>,
    /// For each rule, its literal groups besides the pivot: each needs a hit.
    pub(crate) checks: Vec<Box<[Box<[LiteralId]>]>>,
}

/// Plans the prefilter for rules needing `needs` (one per rule, by position). `answered`
/// literals go into the finders whether or not a rule needs them: leaves read their hits.
///
/// Each rule gets one pivot group, the one whose literals are shared by the fewest rules, so
/// that a common literal fans out to few candidates; its other groups become checks.
pub(crate) fn plan(literals: &Literals, needs: Vec<Need>, answered: &[LiteralId]) -> Plan {
    let mut always = Vec::new();
    let mut rule_groups: Vec<Vec<Group>> = Vec::with_capacity(needs.len());
    for (position, need) in needs.into_iter().enumerate() {
        rule_groups.push(match need {
            // Never true: no literal can make it a candidate, and it is not always run.
            Need::Never => Vec::new(),
            Need::All(groups) if groups.is_empty() => {
                always.push(position as u32);
                Vec::new()
            }
            Need::All(groups) => groups,
        });
    }
    // How many rules use each literal, each rule counted once.
    let mut usage = vec![0u32; literals.count()];
    let mut last_rule = vec![u32::MAX; literals.count()];
    for (position, groups) in rule_groups.iter().enumerate() {
        for &id in groups.iter().flatten() {
            if let (Some(last), Some(used)) =
                (last_rule.get_mut(id as usize), usage.get_mut(id as usize))
                && *last != position as u32
            {
                *last = position as u32;
                *used = used.saturating_add(1);
            }
        }
    }
    let cost = |group: &Group| -> u64 {
        group
            .iter()
            .map(|&id| u64::from(usage.get(id as usize).copied().unwrap_or(0)))
            .sum()
    };
    // The literals each finder holds, and each one's index in its finder.
    let mut members: BTreeMap<Sel, Vec<LiteralId>> = BTreeMap::new();
    let mut local = vec![u32::MAX; literals.count()];
    let mut admit = |id: LiteralId| {
        if let (Some(slot), Some(sel)) = (local.get_mut(id as usize), literals.sel_of(id))
            && *slot == u32::MAX
        {
            let list = members.entry(sel).or_default();
            *slot = list.len() as u32;
            list.push(id);
        }
    };
    for &id in rule_groups.iter().flatten().flatten().chain(answered) {
        admit(id);
    }
    let mut pivot_rules: BTreeMap<Sel, Vec<Vec<u32>>> = members
        .iter()
        .map(|(sel, ids)| (*sel, vec![Vec::new(); ids.len()]))
        .collect();
    let mut checks: Vec<Box<[Box<[LiteralId]>]>> = Vec::with_capacity(rule_groups.len());
    for (position, groups) in rule_groups.into_iter().enumerate() {
        let pivot = groups
            .iter()
            .enumerate()
            .min_by_key(|(_, g)| cost(g))
            .map(|(i, _)| i);
        let mut rule_checks = Vec::new();
        for (g, group) in groups.into_iter().enumerate() {
            if Some(g) != pivot {
                rule_checks.push(group.into_boxed_slice());
                continue;
            }
            for &id in &group {
                let Some(sel) = literals.sel_of(id) else {
                    continue;
                };
                if let Some(list) = pivot_rules
                    .get_mut(&sel)
                    .and_then(|lists| lists.get_mut(*local.get(id as usize)? as usize))
                    && list.last() != Some(&(position as u32))
                {
                    list.push(position as u32);
                }
            }
        }
        checks.push(rule_checks.into_boxed_slice());
    }
    let mut filters = Vec::with_capacity(members.len());
    for (sel, ids) in members {
        let texts: Vec<&[u8]> = ids.iter().map(|&id| literals.text(id).as_bytes()).collect();
        let finder = LiteralFinder::new(&texts);
        filters.push(FieldFilter {
            sel,
            // It scans the folded text: up to 3/2 of the bytes the model measures.
            scan: crate::cost::folded_scan(finder.worst_case()),
            finder,
            patterns: ids.into_boxed_slice(),
            pivot_rules: pivot_rules
                .remove(&sel)
                .unwrap_or_default()
                .into_iter()
                .map(Vec::into_boxed_slice)
                .collect(),
        });
    }
    // `always` is in ascending position order already: rules were visited in order, once.
    Plan {
        filters,
        always,
        checks,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn groups(need: &Need, literals: &Literals) -> Option<Vec<Vec<String>>> {
        match need {
            Need::Never => None,
            Need::All(groups) => Some(
                groups
                    .iter()
                    .map(|g| g.iter().map(|&id| literals.text(id).to_string()).collect())
                    .collect(),
            ),
        }
    }

    #[test]
    fn an_or_needs_one_group_of_every_possible_child() {
        let mut literals = Literals::default();
        let mut id = |text: &str| literals.intern(Sel::Field(0), text);
        let windows = id("\\windows\\");
        let traversal = id("\\..\\..\\");
        let exe = id(".exe\\..\\");
        let short = id("ab");
        let never = Need::Never;
        let first = Need::All(vec![vec![windows], vec![traversal]]);
        let second = Need::All(vec![vec![exe]]);
        let need = Need::or(vec![first, never, second], &literals, 3);
        // Each group pairs one group of each child that can be true, strongest first; the
        // plan then pivots on the rarest.
        assert_eq!(
            groups(&need, &literals),
            Some(vec![
                vec!["\\windows\\".to_string(), ".exe\\..\\".to_string()],
                vec!["\\..\\..\\".to_string(), ".exe\\..\\".to_string()],
            ])
        );
        // Capped at the strongest `max_groups`.
        let wide = Need::All(vec![vec![windows], vec![traversal], vec![short]]);
        let need = Need::or(
            vec![wide, Need::All(vec![vec![exe], vec![short]])],
            &literals,
            3,
        );
        let kept = groups(&need, &literals).unwrap();
        assert_eq!(kept.len(), 3, "{kept:?}");
        // Of the six pairs, the two without the two-byte literal come first.
        let ab = "ab".to_string();
        assert!(kept.iter().take(2).all(|g| !g.contains(&ab)), "{kept:?}");
        // A child that needs nothing makes the OR need nothing; no possible child, never.
        let need = Need::or(vec![Need::All(vec![vec![exe]]), Need::none()], &literals, 3);
        assert_eq!(groups(&need, &literals), Some(vec![]));
        let need = Need::or(vec![Need::Never, Need::Never], &literals, 3);
        assert_eq!(groups(&need, &literals), None);
    }
}
