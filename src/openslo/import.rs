//! OpenSLO v1 import: `SLO` documents whose indicator is a ratio of
//! `slipstream` metric sources become `[[sli]]` tables. Everything else in
//! the input is explained in a note, never silently dropped.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::Config;

/// The outcome of an import.
#[derive(Debug, Default)]
pub struct Import {
    /// `[[sli]]` tables, ready to paste into a configuration.
    pub toml: String,
    /// How many SLIs were written.
    pub mapped: usize,
    /// One sentence for each part of the input that was not mapped.
    pub notes: Vec<String>,
}

#[derive(Debug, Serialize)]
struct Out {
    sli: Vec<OutSli>,
}

#[derive(Debug, Serialize)]
struct OutSli {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    filter: Option<String>,
    good: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    percentiles: Option<Vec<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    breakdown: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    breakdown_limit: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    group_by: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    group_limit: Option<u64>,
    objective: OutObjective,
}

#[derive(Debug, Serialize)]
struct OutObjective {
    target: f64,
    window: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    method: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timezone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    slice: Option<String>,
}

/// Reads OpenSLO YAML (one or more documents) into configuration.
pub fn import(yaml: &str) -> Result<Import, String> {
    let mut docs = Vec::new();
    for (i, de) in serde_norway::Deserializer::from_str(yaml).enumerate() {
        let doc = Value::deserialize(de).map_err(|e| format!("document {}: {e}", i + 1))?;
        if !doc.is_null() {
            docs.push(doc);
        }
    }
    let mut out = Import::default();
    let mut indicators: BTreeMap<String, (Value, bool)> = BTreeMap::new();
    for doc in &docs {
        if doc["kind"] == "SLI" {
            indicators.insert(name_of(doc), (doc.clone(), false));
        }
    }
    let mut slis = Vec::new();
    for doc in &docs {
        let kind = doc["kind"].as_str().unwrap_or("(none)");
        let name = name_of(doc);
        if doc["apiVersion"] != "openslo/v1" {
            out.notes.push(format!(
                "{kind} `{name}`: skipped, its apiVersion is {} and only openslo/v1 is read",
                doc["apiVersion"]
            ));
            continue;
        }
        match kind {
            "SLO" => match slo(doc, &mut indicators, &mut out.notes) {
                Ok(mut list) => slis.append(&mut list),
                Err(why) => out.notes.push(format!("SLO `{name}`: not imported: {why}")),
            },
            "SLI" => {}
            "AlertPolicy" | "AlertCondition" | "AlertNotificationTarget" => {
                out.notes.push(format!(
                "{kind} `{name}`: not mapped: slipstream alerts with multiwindow burn-rate pairs \
                 (`[sli.alerts]`, the SRE Workbook's defaults scaled to the objective unless set)"
            ))
            }
            "Service" => out.notes.push(format!(
                "Service `{name}`: not mapped: slipstream groups nothing by service; use the SLI \
                 names and `owner`"
            )),
            "DataSource" => out.notes.push(format!(
                "DataSource `{name}`: not mapped: slipstream reads raw request logs from \
                 `[source.kafka]` or archives"
            )),
            other => out
                .notes
                .push(format!("{other} `{name}`: not mapped: unknown kind")),
        }
    }
    for (name, (_, used)) in &indicators {
        if !used {
            out.notes.push(format!(
                "SLI `{name}`: not imported on its own: no SLO refers to it, and slipstream keeps \
                 an SLI only with its objective"
            ));
        }
    }
    // Every table must load as configuration: a rule that does not compile
    // is reported, not written.
    let mut kept = Vec::new();
    let mut names = std::collections::BTreeSet::new();
    for s in slis {
        if !names.insert(s.name.clone()) {
            out.notes.push(format!(
                "SLO `{}`: not imported: an SLI of that name was imported already; rename one of them",
                s.name
            ));
            continue;
        }
        let one = toml::to_string(&Out { sli: vec![s] }).map_err(|e| e.to_string())?;
        match Config::parse(Path::new("imported"), &one) {
            Ok(_) => kept.push(one),
            Err(e) => out.notes.push(format!("not imported: {e}")),
        }
    }
    out.mapped = kept.len();
    out.toml = kept.join("\n");
    Ok(out)
}

fn name_of(doc: &Value) -> String {
    doc["metadata"]["name"]
        .as_str()
        .unwrap_or("(unnamed)")
        .to_string()
}

/// The SLIs of one `SLO` document: one per objective.
fn slo(
    doc: &Value,
    indicators: &mut BTreeMap<String, (Value, bool)>,
    notes: &mut Vec<String>,
) -> Result<Vec<OutSli>, String> {
    let name = name_of(doc);
    let spec = &doc["spec"];
    let indicator = if spec["indicator"].is_object() {
        spec["indicator"].clone()
    } else if let Some(r) = spec["indicatorRef"].as_str() {
        let (sli, used) = indicators
            .get_mut(r)
            .ok_or_else(|| format!("its indicatorRef `{r}` is not an SLI document of the input"))?;
        *used = true;
        sli.clone()
    } else {
        return Err("it has neither `indicator` nor `indicatorRef`".into());
    };
    let rules = ratio_rules(&indicator["spec"])?;
    let (window, timezone) = time_window(&spec["timeWindow"])?;
    let timeslices = match spec["budgetingMethod"].as_str() {
        None | Some("Occurrences") => false,
        Some("Timeslices") => true,
        Some(other) => {
            return Err(format!(
                "budgetingMethod `{other}` has no slipstream form (Occurrences or Timeslices)"
            ))
        }
    };
    if spec["alertPolicies"]
        .as_array()
        .is_some_and(|a| !a.is_empty())
    {
        notes.push(format!(
            "SLO `{name}`: its alertPolicies are not mapped; the default multiwindow burn-rate \
             pairs apply, scaled to the objective's window"
        ));
    }
    let objectives = spec["objectives"]
        .as_array()
        .filter(|a| !a.is_empty())
        .ok_or("it has no objectives")?;
    let mut out = Vec::new();
    for (i, o) in objectives.iter().enumerate() {
        let target = match (o["target"].as_f64(), o["targetPercent"].as_f64()) {
            (Some(t), _) => t,
            // Rounded so that 99.9 gives 0.999, not 0.9990000000000001.
            (None, Some(p)) => (p / 100.0 * 1e12).round() / 1e12,
            (None, None) => return Err(format!("objective {} has no target", i + 1)),
        };
        if !o["op"].is_null() || !o["value"].is_null() {
            notes.push(format!(
                "SLO `{name}`: objective {}: `op`/`value` thresholds are not mapped; the `good` \
                 rule decides each event",
                i + 1
            ));
        }
        let slice = if !timeslices {
            None
        } else if let Some(rule) = &rules.slice {
            Some(rule.clone())
        } else {
            let t = o["timeSliceTarget"]
                .as_f64()
                .ok_or_else(|| format!("objective {} has no timeSliceTarget", i + 1))?;
            Some(format!("compliance >= {t}"))
        };
        if let Some(w) = o["timeSliceWindow"].as_str() {
            let secs = openslo_seconds(w);
            if timeslices && secs != Some(60) {
                notes.push(format!(
                    "SLO `{name}`: a slice is one slipstream window: set `[window] size` to \
                     {w} to match its timeSliceWindow"
                ));
            }
        }
        let sli_name = if objectives.len() == 1 {
            name.clone()
        } else {
            let suffix = o["name"]
                .as_str()
                .or(o["displayName"].as_str())
                .map_or_else(|| (i + 1).to_string(), |s| s.to_string());
            format!("{name}-{suffix}")
        };
        out.push(OutSli {
            name: sli_name,
            description: spec["description"].as_str().map(str::to_string),
            filter: rules.filter.clone(),
            good: rules.good.clone(),
            percentiles: rules.percentiles.clone(),
            breakdown: rules.breakdown.clone(),
            breakdown_limit: rules.breakdown_limit,
            group_by: rules.group_by.clone(),
            group_limit: rules.group_limit,
            objective: OutObjective {
                target,
                window: window.clone(),
                method: timeslices.then_some("timeslices"),
                timezone: timezone.clone(),
                slice,
            },
        });
    }
    Ok(out)
}

struct Rules {
    filter: Option<String>,
    good: String,
    percentiles: Option<Vec<f64>>,
    breakdown: Option<Vec<String>>,
    breakdown_limit: Option<u64>,
    group_by: Option<Vec<String>>,
    group_limit: Option<u64>,
    slice: Option<String>,
}

/// The rules of a `ratioMetric` whose sources are `slipstream`.
fn ratio_rules(spec: &Value) -> Result<Rules, String> {
    if spec["thresholdMetric"].is_object() {
        return Err(
            "its indicator is a thresholdMetric (a query result compared with a \
                    value); slipstream classifies each event: write a `good` rule such as \
                    `latency <= 300ms`"
                .into(),
        );
    }
    let ratio = &spec["ratioMetric"];
    if !ratio.is_object() {
        return Err("its indicator has no ratioMetric".into());
    }
    if !ratio["raw"].is_null() {
        return Err(
            "its ratioMetric is `raw` (a precomputed ratio); slipstream needs events".into(),
        );
    }
    let (part, negate) = if ratio["good"].is_object() {
        (&ratio["good"], false)
    } else if ratio["bad"].is_object() {
        (&ratio["bad"], true)
    } else {
        return Err("its ratioMetric has neither `good` nor `bad`".into());
    };
    let source = |m: &Value, what: &str| -> Result<Value, String> {
        let ms = &m["metricSource"];
        match ms["type"].as_str() {
            Some(t) if t.eq_ignore_ascii_case("slipstream") => Ok(ms["spec"].clone()),
            Some(t) => Err(format!(
                "its {what} metric comes from `{t}`, a query slipstream cannot run; slipstream \
                 classifies raw events: write `filter` and `good` rules for it"
            )),
            None => Err(format!("its {what} metric has no metricSource type")),
        }
    };
    let part_spec = source(part, if negate { "bad" } else { "good" })?;
    let total_spec = source(&ratio["total"], "total")?;
    let rule_key = if negate { "bad" } else { "good" };
    let rule = part_spec[rule_key]
        .as_str()
        .ok_or_else(|| format!("its {rule_key} metric source has no `{rule_key}` rule"))?;
    let some_rule = |v: &Value| {
        v.as_str()
            .map(str::trim)
            .filter(|r| !r.is_empty() && *r != "true")
            .map(str::to_string)
    };
    let filter = some_rule(&total_spec["filter"]);
    // Events of the good (or bad) side outside its own filter are not good
    // (not bad): the rule gains that filter when it differs from the total's.
    let mut good = if negate {
        format!("!({rule})")
    } else {
        rule.to_string()
    };
    if let Some(f) = some_rule(&part_spec["filter"]) {
        if Some(&f) != filter.as_ref() {
            good = if negate {
                format!("!(({f}) && ({rule}))")
            } else {
                format!("({f}) && ({good})")
            };
        }
    }
    let percentiles = part_spec["percentiles"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_f64).collect());
    let strings = |v: &Value| -> Option<Vec<String>> {
        v.as_array().map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
    };
    let slice = part_spec["slice"].as_str().map(str::to_string);
    Ok(Rules {
        filter,
        good,
        percentiles,
        breakdown: strings(&part_spec["breakdown"]),
        breakdown_limit: part_spec["breakdownLimit"].as_u64(),
        group_by: strings(&part_spec["groupBy"]),
        group_limit: part_spec["groupLimit"].as_u64(),
        slice,
    })
}

/// `(window, timezone)` of the first `timeWindow`.
fn time_window(tw: &Value) -> Result<(String, Option<String>), String> {
    let w = tw
        .as_array()
        .and_then(|list| list.first())
        .ok_or("it has no timeWindow")?;
    let duration = w["duration"]
        .as_str()
        .ok_or("its timeWindow has no duration")?;
    let rolling = w["isRolling"].as_bool().unwrap_or(false);
    if rolling {
        let secs = openslo_seconds(duration).ok_or_else(|| {
            format!(
                "its rolling timeWindow `{duration}` has no fixed length; use days or weeks \
                 (`28d`, `4w`), or a calendar window"
            )
        })?;
        return Ok((super::duration(secs), None));
    }
    let window = match duration {
        "1M" => "calendar:month",
        "1w" => "calendar:week",
        other => {
            return Err(format!(
                "its calendar timeWindow `{other}` is not one month (`1M`) or one week (`1w`)"
            ))
        }
    };
    let tz = w["calendar"]["timeZone"].as_str().map(str::to_string);
    Ok((window.to_string(), Some(tz.unwrap_or_else(|| "UTC".into()))))
}

/// Seconds of an OpenSLO duration with a fixed length (`30m`, `1h`, `28d`,
/// `4w`); `None` for months, quarters, years and anything else.
fn openslo_seconds(d: &str) -> Option<u64> {
    let d = d.trim();
    let unit = d.chars().last()?;
    let n: u64 = d[..d.len() - unit.len_utf8()].parse().ok()?;
    let mult = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        _ => return None,
    };
    n.checked_mul(mult).filter(|&s| s > 0)
}
