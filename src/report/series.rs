//! Grouped SLIs in reports: each group of an SLI with `group_by` is read as
//! an SLI of its own, named by its series (`checkout-latency
//! {http.route=/a}`, see [`crate::record::series_name`]), with the grouped
//! SLI's rules and objective. The rows carry series names
//! ([`super::data`]); [`expand`] gives the configuration the report reads
//! them with, each grouped SLI replaced by the series its records hold.

use std::borrow::Cow;

use super::data::Records;
use crate::config::Config;

/// `config` with each grouped SLI replaced by one SLI per series of it in
/// `records`, in series order; a grouped SLI without records stays, so
/// that the report says it saw no traffic.
pub fn expand<'a>(config: &'a Config, records: &Records) -> Cow<'a, Config> {
    if config.slis.iter().all(|s| s.group_by.is_empty()) {
        return Cow::Borrowed(config);
    }
    let names = records.sli_names();
    let mut out = config.clone();
    out.slis.clear();
    for sli in &config.slis {
        let prefix = format!("{} {{", sli.name);
        let series: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| !sli.group_by.is_empty() && n.starts_with(&prefix))
            .collect();
        if series.is_empty() {
            out.slis.push(sli.clone());
            continue;
        }
        for name in series {
            let mut one = sli.clone();
            one.name = name.to_string();
            one.group_by.clear();
            out.slis.push(one);
        }
    }
    Cow::Owned(out)
}

/// An SLI that `what-if` and `suggest` replay: SLI `sli` of `config` (the
/// configuration read with the records, grouped SLIs [`expand`]ed into
/// their series), which is `[[sli]]` number `block` of `file`, the
/// configuration as written in `text`: raw logs are read with that one.
pub struct Subject<'a> {
    pub config: &'a Config,
    pub sli: usize,
    pub file: &'a Config,
    pub text: &'a str,
    pub block: usize,
}

impl<'a> Subject<'a> {
    /// SLI `sli` of `config`, [`expand`]ed from `file`.
    pub fn new(config: &'a Config, sli: usize, file: &'a Config, text: &'a str) -> Subject<'a> {
        let name = &config.slis[sli].name;
        let block = block_of(file, name).unwrap_or(sli);
        Subject {
            config,
            sli,
            file,
            text,
            block,
        }
    }

    pub fn sli(&self) -> &'a crate::config::Sli {
        &self.config.slis[self.sli]
    }
}

/// The `[[sli]]` of `config` that `name`, an SLI's name or one of a
/// grouped SLI's series, comes from.
pub fn block_of(config: &Config, name: &str) -> Option<usize> {
    config.slis.iter().position(|s| s.name == name).or_else(|| {
        config.slis.iter().position(|s| {
            !s.group_by.is_empty()
                && name
                    .strip_prefix(s.name.as_str())
                    .is_some_and(|rest| rest.starts_with(" {"))
        })
    })
}

/// The latencies of series `name` of SLI `block` of `config` over the
/// windows of a backfill read with `config`.
pub fn series_latency(
    config: &Config,
    block: usize,
    name: &str,
    windows: &[crate::window::Window],
) -> crate::window::Histogram {
    let sli = &config.slis[block];
    let mut all = crate::window::Histogram::default();
    for w in windows {
        for (group, one) in crate::slo::window_series(sli, &w.slis[block]) {
            if crate::record::series_name(&sli.name, group.as_ref()) == name {
                all.merge(&one.latency);
            }
        }
    }
    all
}
