//! The checks of a grouped SLI's `group_by` and `group_limit` (see
//! [`crate::window::Groups`] for what they do).

use super::raw::RawSli;
use super::validate::Validator;
use super::ConfigError;
use crate::event::FieldTable;

/// Fields (path, slot) and group limit of an SLI.
type Grouping = (Vec<(String, usize)>, usize);

impl Validator<'_> {
    /// `group_by`'s fields, in order without duplicates (empty for an
    /// ungrouped SLI), and `group_limit` (1,000 by default).
    pub(super) fn group_by(
        &self,
        i: usize,
        s: &RawSli,
        fields: &mut FieldTable,
    ) -> Result<Grouping, ConfigError> {
        let mut group_by = Vec::new();
        if let Some(list) = &s.group_by {
            if list.get_ref().is_empty() {
                return Err(self.err(
                    list.span(),
                    &format!("sli[{i}].group_by"),
                    "lists no field: name one or more, like `group_by = [\"http.route\"]`, or remove it",
                ));
            }
            for path in list.get_ref() {
                let path = path.trim();
                if path.is_empty() || path.split('.').any(str::is_empty) {
                    return Err(self.err(
                        list.span(),
                        &format!("sli[{i}].group_by"),
                        format!("`{path}` is not a field path like `http.route`"),
                    ));
                }
                if !group_by.iter().any(|(p, _): &(String, usize)| p == path) {
                    group_by.push((path.to_string(), fields.slot(path)));
                }
            }
        }
        let group_limit = match &s.group_limit {
            None => 1_000,
            Some(n) if (1..=1_000_000).contains(n.get_ref()) => *n.get_ref() as usize,
            Some(n) => {
                return Err(self.err(
                    n.span(),
                    &format!("sli[{i}].group_limit"),
                    "must be between 1 and 1000000",
                ))
            }
        };
        Ok((group_by, group_limit))
    }
}
