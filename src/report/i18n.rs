//! The words of a report, in English and Japanese. Numbers and times are
//! formatted the same way in both (ISO dates, 24-hour times in the report's
//! zone, named; thousands separators), so the two languages carry identical
//! numbers.
//!
//! One long file on purpose: it is the two languages' phrase tables side by
//! side, which a translator reads and checks together.

/// A report language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    En,
    Ja,
}

/// Every phrase a report uses. `{}` placeholders are filled in order.
#[derive(Debug)]
pub struct Text {
    pub title: &'static str,
    pub period: &'static str,
    /// sli, compliance, target, budget left, outage minutes
    pub met: &'static str,
    /// sli, compliance, target, budget left
    pub met_no_outage: &'static str,
    /// sli, compliance, target, overspent share, bad events too many
    pub missed: &'static str,
    /// sli
    pub no_traffic: &'static str,
    /// sli, events
    pub all_invalid: &'static str,
    pub unit_requests: &'static str,
    pub unit_slices: &'static str,
    pub objective: &'static str,
    /// target, unit, window (as `Words::window_days` names it)
    pub objective_line: &'static str,
    /// zone name (`Asia/Tokyo (JST)`)
    pub times_in: &'static str,
    pub budget: &'static str,
    pub budget_allowed: &'static str,
    pub budget_left_ratio: &'static str,
    pub budget_left_events: &'static str,
    pub budget_left_outage: &'static str,
    pub minutes: &'static str,
    pub overspent: &'static str,
    pub this_period: &'static str,
    /// Latency percentiles over the period; `{}` is the number of requests.
    pub latency_period: &'static str,
    pub good: &'static str,
    pub bad: &'static str,
    pub compliance: &'static str,
    pub target: &'static str,
    /// zone
    pub day: &'static str,
    pub daily: &'static str,
    /// zone
    pub x_time: &'static str,
    pub y_budget: &'static str,
    pub y_burn: &'static str,
    /// The burn-rate chart's line at 1.
    pub burn_sustainable: &'static str,
    /// The budget chart's caption for a rolling window: window
    pub budget_caption_rolling: &'static str,
    /// The budget chart's caption for a calendar window: window
    pub budget_caption_calendar: &'static str,
    /// The budget chart's zero line.
    pub budget_zero: &'static str,
    pub chart_daily: &'static str,
    pub chart_budget: &'static str,
    pub chart_burn: &'static str,
    pub burn_rate_1h: &'static str,
    pub alert_marks: &'static str,
    pub incidents: &'static str,
    pub no_incidents: &'static str,
    pub severity: &'static str,
    pub page: &'static str,
    pub ticket: &'static str,
    pub start: &'static str,
    pub end: &'static str,
    pub ongoing: &'static str,
    pub budget_spent: &'static str,
    pub alerts: &'static str,
    pub counted_from: &'static str,
    pub peak_burn: &'static str,
    pub windows_fired: &'static str,
    pub top_contributors: &'static str,
    pub not_available: &'static str,
    pub glossary: &'static str,
    pub for_developers: &'static str,
    pub for_product: &'static str,
    pub for_sre: &'static str,
}

pub const EN: Text = Text {
    title: "SLO report",
    period: "Period",
    met: "{} met its goal: {} of {} were good against a {} target; {} of the error budget is left — about {} more minutes of full outage at this period's traffic.",
    met_no_outage: "{} met its goal: {} of {} were good against a {} target; {} of the error budget is left.",
    missed: "{} missed its goal: {} of {} were good against a {} target; the error budget is overspent by {} ({} bad events more than the target allows).",
    no_traffic: "{} saw no traffic in this period: there is nothing to judge.",
    all_invalid: "{} cannot be judged in this period: all {} events were invalid for this SLI (a field its rule needs is missing or of another type; `slipstream backfill` over the logs names it).",
    unit_requests: "requests",
    unit_slices: "time slices",
    objective: "Objective",
    objective_line: "{0} of {1} good over a {2} window",
    times_in: "Times are in {}.",
    budget: "Error budget at the end of the period",
    budget_allowed: "Allowed by the target over the window, as bad events",
    budget_left_ratio: "Left, as a share of the budget",
    budget_left_events: "Left, as bad events",
    budget_left_outage: "Left, as minutes of full outage at this period's traffic",
    minutes: "{} min",
    overspent: "overspent",
    this_period: "In this report's period",
    latency_period: "Latency over the period ({} requests with a latency)",
    good: "good",
    bad: "bad",
    compliance: "compliance",
    target: "target",
    day: "day ({})",
    daily: "Compliance per day",
    x_time: "time ({})",
    y_budget: "error budget left",
    y_burn: "burn rate",
    burn_sustainable: "1 = the budget lasts the window",
    budget_caption_rolling: "The error budget is a share of the events in a rolling window of {}: it grows as more events arrive, and bad events older than the window leave it and give their share back, so the line can climb again although nothing was repaired. Below 0% the budget is overspent.",
    budget_caption_calendar: "The error budget is a share of the events in each {} window: it grows as more events arrive, and starts afresh at 100% when a new window begins. Below 0% the budget is overspent.",
    budget_zero: "0% (budget used up)",
    chart_daily: "Compliance per day against the target",
    chart_budget: "Error budget left over the period",
    chart_burn: "Burn rate over 1 hour, alerts marked",
    burn_rate_1h: "burn rate (1h)",
    alert_marks: "alert fired",
    incidents: "Incidents",
    no_incidents: "No alert fired in this period.",
    severity: "severity",
    page: "page",
    ticket: "ticket",
    start: "start",
    end: "end",
    ongoing: "ongoing",
    budget_spent: "budget spent",
    alerts: "alerts",
    counted_from: "bad events counted from",
    peak_burn: "peak burn rate",
    windows_fired: "windows",
    top_contributors: "top contributors (bad events)",
    not_available: "n/a",
    glossary: "Glossary",
    for_developers: "For developers",
    for_product: "For product managers",
    for_sre: "For SREs",
};

pub const JA: Text = Text {
    title: "SLO レポート",
    period: "対象期間",
    met: "{0}は目標を達成しました。{2}の{1}が良好でした（目標値 {3}）。エラーバジェットは{4}残っており、この期間のトラフィックなら全面停止があと約{5}分続くと使い切ります。",
    met_no_outage: "{0}は目標を達成しました。{2}の{1}が良好でした（目標値 {3}）。エラーバジェットは{4}残っています。",
    missed: "{0}は目標を達成できませんでした。{2}の{1}が良好でした（目標値 {3}）。エラーバジェットを{4}超過しています（不良イベントが許容数を{5}件上回っています）。",
    no_traffic: "{}はこの期間にトラフィックがなく、判定できません。",
    all_invalid: "{}はこの期間に判定できません。このSLIの{}件のイベントはすべて無効でした（ルールが必要とするフィールドが欠けているか、型が違います。ログに対して`slipstream backfill`を実行すると、そのフィールドが分かります）。",
    unit_requests: "リクエスト",
    unit_slices: "時間スライス",
    objective: "目標",
    objective_line: "{1}の{0}が{2}を通じて良好であること",
    times_in: "時刻はすべて{}で表示しています。",
    budget: "期間終了時点のエラーバジェット",
    budget_allowed: "目標値が目標期間全体で許す不良イベント数",
    budget_left_ratio: "残り（バジェットに対する割合）",
    budget_left_events: "残り（不良イベント数）",
    budget_left_outage: "残り（この期間のトラフィックで全面停止に換算した時間）",
    minutes: "{}分",
    overspent: "超過",
    this_period: "このレポートの対象期間",
    latency_period: "対象期間全体のレイテンシ（計測できたリクエスト{}件）",
    good: "良好",
    bad: "不良",
    compliance: "達成率",
    target: "目標値",
    day: "日付（{}）",
    daily: "日ごとの達成率",
    x_time: "時刻（{}）",
    y_budget: "エラーバジェット残り",
    y_burn: "バーンレート",
    burn_sustainable: "1 = 目標期間ちょうどで使い切る速さ",
    budget_caption_rolling: "エラーバジェットは、{}のローリングウィンドウ内のイベント数に対する割合です。イベントが増えるとバジェットも増え、ウィンドウより古い不良イベントは外れてその分のバジェットが戻るため、何も直していなくても線が回復することがあります。0%を下回るとバジェット超過です。",
    budget_caption_calendar: "エラーバジェットは、{}ごとのイベント数に対する割合です。イベントが増えるとバジェットも増え、新しい期間が始まると100%に戻ります。0%を下回るとバジェット超過です。",
    budget_zero: "0%（バジェット切れ）",
    chart_daily: "日ごとの達成率と目標値",
    chart_budget: "対象期間中のエラーバジェット残り",
    chart_burn: "直近1時間のバーンレートとアラート発報",
    burn_rate_1h: "バーンレート（1時間）",
    alert_marks: "アラート発報",
    incidents: "インシデント",
    no_incidents: "この期間に発報したアラートはありません。",
    severity: "重大度",
    page: "緊急アラート",
    ticket: "チケット",
    start: "開始",
    end: "終了",
    ongoing: "継続中",
    budget_spent: "消費したバジェット",
    alerts: "アラート数",
    counted_from: "不良イベントの集計開始",
    peak_burn: "最大バーンレート",
    windows_fired: "判定ウィンドウ",
    top_contributors: "主な発生元（不良イベント数）",
    not_available: "算出不可",
    glossary: "用語集",
    for_developers: "開発者向け",
    for_product: "プロダクトマネージャー向け",
    for_sre: "SRE 向け",
};

/// The phrases of the five answers (`questions.rs`). Placeholders are
/// `{N}`, filled by position; a translation keeps the numbers in the same
/// order, so that both languages carry them alike.
#[derive(Debug)]
pub struct Words {
    pub q1: &'static str,
    pub q2: &'static str,
    pub q3: &'static str,
    pub q4: &'static str,
    pub q5: &'static str,
    /// compliance, unit, target
    pub met: &'static str,
    pub missed: &'static str,
    pub nothing_judged: &'static str,
    /// covered span, window, share of the window
    pub covered: &'static str,
    pub coverage_warning: &'static str,
    /// share left, bad events left, unit, minutes
    pub budget_left: &'static str,
    /// share spent, bad events too many, unit, minutes (0)
    pub budget_none_left: &'static str,
    /// unit
    pub budget_none_yet: &'static str,
    /// share spent
    pub no_alert_spent: &'static str,
    /// incidents, their share, share spent in all
    pub incidents_spent: &'static str,
    /// severity, start, end, bad events, share, peak burn rate
    pub largest: &'static str,
    /// contributors
    pub mostly_from: &'static str,
    pub still_firing: &'static str,
    /// verdict, reason
    pub verdict: &'static str,
    pub realistic: &'static str,
    pub too_strict: &'static str,
    pub too_loose: &'static str,
    pub not_enough_history: &'static str,
    pub why_no_events: &'static str,
    pub why_not_replayable: &'static str,
    /// covered share, share needed
    pub why_short: &'static str,
    /// periods met, periods, most spent
    pub why_met_periods: &'static str,
    /// periods missed, periods
    pub why_missed_periods: &'static str,
    /// days missed, days, worst day
    pub why_days: &'static str,
    /// supported target
    pub why_supported: &'static str,
    pub what_if_intro: &'static str,
    pub what_if_target: &'static str,
    pub what_if_met: &'static str,
    pub what_if_budget_left: &'static str,
    pub what_if_pages: &'static str,
    pub what_if_tickets: &'static str,
    pub current: &'static str,
    pub yes: &'static str,
    pub no: &'static str,
    pub bad_events: &'static str,
    pub budget_share: &'static str,
    /// n
    pub days: &'static str,
    pub hours: &'static str,
    pub minutes: &'static str,
    /// n: a rolling window of n days
    pub window_days: &'static str,
    pub window_hours: &'static str,
    pub calendar_month: &'static str,
    pub calendar_week: &'static str,
}

pub const EN_WORDS: Words = Words {
    q1: "1. Is the objective met?",
    q2: "2. How much error budget is left?",
    q3: "3. What spent it?",
    q4: "4. Is the target realistic?",
    q5: "5. What would other targets have given?",
    met: "Yes: {0} of {1} were good against a target of {2}.",
    missed: "No: {0} of {1} were good against a target of {2}.",
    nothing_judged: "There is nothing to judge: no event of this SLI could be judged in the period.",
    covered: "The data covers {0} of the objective's {1} window ({2}).",
    coverage_warning: "That is too little of the window for this answer to mean much: what happens in the rest of it decides whether the objective is met.",
    budget_left: "{0} of the error budget is left: {1} more bad {2}, or {3} minutes of full outage at this period's traffic.",
    budget_none_left: "None is left: {0} of the budget is spent, {1} bad {2} more than the target allows, so {3} minutes of full outage are left.",
    budget_none_yet: "There is no budget yet: without valid {0} in the period, the target allows no failure.",
    no_alert_spent: "No alert fired; the {0} of the budget spent came from bad events below the alerting burn rates.",
    incidents_spent: "{0} incident(s) spent {1} of the budget, of {2} spent in all.",
    largest: "The largest, a {0} from {1} to {2}, had {3} bad events ({4} of the budget) at a peak burn rate of {5}.",
    mostly_from: "Most of its bad events came from {0}.",
    still_firing: "now (still firing)",
    verdict: "{0}: {1}.",
    realistic: "Realistic",
    too_strict: "Too strict",
    too_loose: "Too loose",
    not_enough_history: "Not enough history",
    why_no_events: "no event could be judged in the period",
    why_not_replayable: "the objective counts time slices by a latency percentile, which window counts cannot replay",
    why_short: "only {0} of the objective's window has data, less than the {1} a verdict needs",
    why_met_periods: "met in {0} of {1} objective period(s), spending at most {2} of a period's budget",
    why_missed_periods: "missed in {0} of {1} objective period(s)",
    why_days: "{0} of {1} day(s) fell below the target (worst day: {2} good)",
    why_supported: "the highest usual target every period met with 25% of its budget to spare is {0}",
    what_if_intro: "The period replayed under each target, with the same alert rules:",
    what_if_target: "target",
    what_if_met: "met",
    what_if_budget_left: "budget left",
    what_if_pages: "pages",
    what_if_tickets: "tickets",
    current: " (current)",
    yes: "yes",
    no: "no",
    bad_events: "bad events",
    budget_share: "share of the budget",
    days: "{0} days",
    hours: "{0} hours",
    minutes: "{0} minutes",
    window_days: "{0}-day",
    window_hours: "{0}-hour",
    calendar_month: "calendar-month",
    calendar_week: "calendar-week",
};

pub const JA_WORDS: Words = Words {
    q1: "1. 目標を達成しているか",
    q2: "2. エラーバジェットはどれだけ残っているか",
    q3: "3. 何がバジェットを消費したか",
    q4: "4. 目標値は妥当か",
    q5: "5. 目標値を変えていたらどうなったか",
    met: "達成しています。{1}の{0}が良好でした（目標値 {2}）。",
    missed: "未達です。良好だった{1}は{0}でした（目標値 {2}）。",
    nothing_judged: "判定できません。この期間に判定できたイベントがありません。",
    covered: "データがある期間は{0}で、{1}の目標期間の{2}にあたります。",
    coverage_warning: "目標期間のごく一部しかないため、この判定は参考程度です。達成か未達かは残りの期間で決まります。",
    budget_left: "エラーバジェットは{0}残っています。不良{2}にしてあと{1}件、この期間のトラフィックで全面停止に換算すると{3}分です。",
    budget_none_left: "残っていません。バジェットの{0}を消費済みで、不良{2}は許容数を{1}件上回っています。全面停止に換算した残り時間は{3}分です。",
    budget_none_yet: "バジェットはまだありません。期間内に有効な{0}がないため、目標値が許す失敗はありません。",
    no_alert_spent: "アラートは発報していません。消費したバジェット{0}は、アラートの閾値に届かない不良イベントによるものです。",
    incidents_spent: "インシデント{0}件でバジェットの{1}を消費しました（期間全体の消費は{2}）。",
    largest: "最大のものは{1}から{2}までの{0}で、不良イベント{3}件（バジェットの{4}）、最大バーンレートは{5}でした。",
    mostly_from: "不良イベントの主な発生元：{0}。",
    still_firing: "現在（発報中）",
    verdict: "{0}：{1}。",
    realistic: "妥当",
    too_strict: "厳しすぎる",
    too_loose: "緩すぎる",
    not_enough_history: "履歴が不足",
    why_no_events: "期間内に判定できたイベントがありません",
    why_not_replayable: "この目標はレイテンシのパーセンタイルで時間スライスを数えるため、ウィンドウの集計からは再現できません",
    why_short: "データがあるのは目標期間の{0}だけで、判断に必要な{1}に届きません",
    why_met_periods: "達成した目標期間は{0}期間（全{1}期間中）で、各期間で消費したバジェットは最大{2}です",
    why_missed_periods: "未達の目標期間は{0}期間（全{1}期間中）です",
    why_days: "目標値を下回った日は{0}日（全{1}日中）で、最も悪い日の達成率は{2}です",
    why_supported: "すべての期間でバジェットを25%以上残して達成できた、よく使われる目標値のうち最も高いものは{0}です",
    what_if_intro: "同じアラートルールのまま、この期間を各目標値で再計算した結果です。",
    what_if_target: "目標値",
    what_if_met: "達成可否",
    what_if_budget_left: "バジェット残り",
    what_if_pages: "緊急アラート",
    what_if_tickets: "チケット",
    current: "（現在）",
    yes: "達成",
    no: "未達",
    bad_events: "不良イベント数",
    budget_share: "バジェットに占める割合",
    days: "{0}日",
    hours: "{0}時間",
    minutes: "{0}分",
    window_days: "{0}日間",
    window_hours: "{0}時間",
    calendar_month: "暦月",
    calendar_week: "暦週",
};

impl Words {
    /// Every phrase, for checking that a translation is complete.
    pub fn all(&self) -> Vec<&'static str> {
        vec![
            self.q1,
            self.q2,
            self.q3,
            self.q4,
            self.q5,
            self.met,
            self.missed,
            self.nothing_judged,
            self.covered,
            self.coverage_warning,
            self.budget_left,
            self.budget_none_left,
            self.budget_none_yet,
            self.no_alert_spent,
            self.incidents_spent,
            self.largest,
            self.mostly_from,
            self.still_firing,
            self.verdict,
            self.realistic,
            self.too_strict,
            self.too_loose,
            self.not_enough_history,
            self.why_no_events,
            self.why_not_replayable,
            self.why_short,
            self.why_met_periods,
            self.why_missed_periods,
            self.why_days,
            self.why_supported,
            self.what_if_intro,
            self.what_if_target,
            self.what_if_met,
            self.what_if_budget_left,
            self.what_if_pages,
            self.what_if_tickets,
            self.current,
            self.yes,
            self.no,
            self.bad_events,
            self.budget_share,
            self.days,
            self.hours,
            self.minutes,
            self.window_days,
            self.window_hours,
            self.calendar_month,
            self.calendar_week,
        ]
    }
}

impl Text {
    /// Every phrase, for checking that a translation is complete.
    pub fn all(&self) -> Vec<&'static str> {
        vec![
            self.title,
            self.period,
            self.met,
            self.met_no_outage,
            self.missed,
            self.no_traffic,
            self.all_invalid,
            self.unit_requests,
            self.unit_slices,
            self.objective,
            self.objective_line,
            self.budget,
            self.budget_allowed,
            self.alerts,
            self.counted_from,
            self.budget_left_ratio,
            self.budget_left_events,
            self.budget_left_outage,
            self.minutes,
            self.overspent,
            self.this_period,
            self.latency_period,
            self.good,
            self.bad,
            self.compliance,
            self.target,
            self.day,
            self.daily,
            self.chart_daily,
            self.chart_budget,
            self.chart_burn,
            self.burn_rate_1h,
            self.alert_marks,
            self.incidents,
            self.no_incidents,
            self.severity,
            self.page,
            self.ticket,
            self.start,
            self.end,
            self.ongoing,
            self.budget_spent,
            self.peak_burn,
            self.windows_fired,
            self.top_contributors,
            self.not_available,
            self.glossary,
            self.for_developers,
            self.for_product,
            self.for_sre,
            self.times_in,
            self.x_time,
            self.y_budget,
            self.y_burn,
            self.burn_sustainable,
            self.budget_caption_rolling,
            self.budget_caption_calendar,
            self.budget_zero,
        ]
    }
}

impl Lang {
    pub fn text(self) -> &'static Text {
        match self {
            Lang::En => &EN,
            Lang::Ja => &JA,
        }
    }

    pub fn words(self) -> &'static Words {
        match self {
            Lang::En => &EN_WORDS,
            Lang::Ja => &JA_WORDS,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ja => "ja",
        }
    }
}

/// Fills `{}` placeholders in order, and `{0}`...`{9}` by position (a
/// translation may need the words in another order).
pub fn fill(template: &str, args: &[&str]) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    let mut next = 0;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let digit = after.chars().next().and_then(|c| c.to_digit(10));
        match (after.starts_with('}'), digit) {
            (true, _) => {
                out.push_str(args.get(next).copied().unwrap_or(""));
                next += 1;
                rest = &after[1..];
            }
            (false, Some(d)) if after[1..].starts_with('}') => {
                out.push_str(args.get(d as usize).copied().unwrap_or(""));
                rest = &after[2..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The placeholders of a template: `{}` numbered in order, `{N}` as N.
pub fn placeholders(template: &str) -> Vec<usize> {
    let mut v = Vec::new();
    let mut next = 0;
    let mut rest = template;
    while let Some(i) = rest.find('{') {
        let after = &rest[i + 1..];
        if after.starts_with('}') {
            v.push(next);
            next += 1;
        } else if let Some(d) = after.chars().next().and_then(|c| c.to_digit(10)) {
            if after[1..].starts_with('}') {
                v.push(d as usize);
            }
        }
        rest = after;
    }
    v.sort_unstable();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_phrase_is_translated_with_the_same_placeholders() {
        let (en, ja) = (EN.all(), JA.all());
        assert_eq!(en.len(), ja.len());
        for (e, j) in en.iter().zip(&ja) {
            // Terms of art such as "SLI" stay as they are.
            if e.len() > 3 {
                assert_ne!(e, j, "untranslated: {e}");
                assert!(!j.is_ascii(), "not Japanese: {j}");
            }
            assert_eq!(placeholders(e), placeholders(j), "{e} / {j}");
        }
    }

    /// The digits a phrase writes itself, outside its placeholders.
    fn literal_digits(s: &str) -> String {
        let mut rest = s.to_string();
        for n in 0..10 {
            rest = rest.replace(&format!("{{{n}}}"), "");
        }
        rest.chars().filter(char::is_ascii_digit).collect()
    }

    #[test]
    fn every_answer_phrase_is_translated_with_the_same_numbers() {
        let (en, ja) = (EN_WORDS.all(), JA_WORDS.all());
        assert_eq!(en.len(), ja.len());
        for (e, j) in en.iter().zip(&ja) {
            assert_ne!(e, j, "untranslated: {e}");
            assert!(!j.is_ascii(), "not Japanese: {j}");
            assert_eq!(placeholders(e), placeholders(j), "{e} / {j}");
            // Numbers are in the placeholders: no phrase adds its own
            // digits in one language only.
            assert_eq!(literal_digits(e), literal_digits(j), "{e} / {j}");
            assert!(!e.contains("{}"), "positional placeholders only: {e}");
        }
    }

    #[test]
    fn placeholders_fill_in_order() {
        assert_eq!(fill("{} of {}", &["a", "b"]), "a of b");
        assert_eq!(fill("{}!", &[]), "!");
        assert_eq!(fill("{1} の {0}", &["a", "b"]), "b の a");
        assert_eq!(fill("{x} {0}", &["a"]), "{x} a");
        assert_eq!(placeholders("{1} {0} {1}"), vec![0, 1, 1]);
    }
}
