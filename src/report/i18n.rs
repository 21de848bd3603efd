//! The words of a report, in English and Japanese. Numbers and times are
//! formatted the same way in both (ISO dates, 24-hour UTC times), so the
//! two languages carry identical numbers.

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
    /// target, window, method
    pub objective_line: &'static str,
    pub budget: &'static str,
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
    pub day: &'static str,
    pub daily: &'static str,
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
    pub peak_burn: &'static str,
    pub windows_fired: &'static str,
    pub top_contributors: &'static str,
    pub not_available: &'static str,
    pub glossary: &'static str,
    /// (term, for developers, for product managers, for SREs)
    pub terms: [(&'static str, &'static str, &'static str, &'static str); 4],
    pub for_developers: &'static str,
    pub for_product: &'static str,
    pub for_sre: &'static str,
}

pub const EN: Text = Text {
    title: "SLO report",
    period: "Period",
    met: "{} met its goal: {} of {} were good against a {} target; {} of the error budget is left — about {} more minutes of full outage at current traffic.",
    met_no_outage: "{} met its goal: {} of {} were good against a {} target; {} of the error budget is left.",
    missed: "{} missed its goal: {} of {} were good against a {} target; the error budget is overspent by {} ({} bad events too many).",
    no_traffic: "{} saw no traffic in this period: there is nothing to judge.",
    all_invalid: "{} cannot be judged in this period: all {} events were invalid for this SLI (a field its rule needs is missing or of another type; `slipstream backfill` over the logs names it).",
    unit_requests: "requests",
    unit_slices: "time slices",
    objective: "Objective",
    objective_line: "{} good over {} ({})",
    budget: "Error budget at the end of the period",
    budget_left_ratio: "Left, as a share of the budget",
    budget_left_events: "Left, as bad events",
    budget_left_outage: "Left, as minutes of full outage at current traffic",
    minutes: "min",
    overspent: "overspent",
    this_period: "In this report's period",
    latency_period: "Latency over the period ({} requests with a latency)",
    good: "good",
    bad: "bad",
    compliance: "compliance",
    target: "target",
    day: "day (UTC)",
    daily: "Compliance per day",
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
    peak_burn: "peak burn rate",
    windows_fired: "windows",
    top_contributors: "top contributors (bad events)",
    not_available: "n/a",
    glossary: "Glossary",
    terms: [
        (
            "SLI",
            "The share of your requests that went well, measured from every request: the number your code changes move.",
            "How many users got what they came for, as a percentage.",
            "good events / valid events, counted exactly per window from raw logs.",
        ),
        (
            "SLO",
            "The promise: the SLI must stay above the target over the window. Below it, reliability work comes first.",
            "The level of reliability we promise users, agreed with engineering; higher costs more.",
            "target over a rolling or calendar window; the basis for budgets and alerts.",
        ),
        (
            "Error budget",
            "How many failures we can afford before breaking the promise: room to ship and experiment.",
            "The room left for risk — releases, experiments, incidents — before users notice too much.",
            "(1 - target) x valid events; spent = bad events; remaining may go negative.",
        ),
        (
            "Burn rate",
            "How fast failures use up the budget: 1 means it lasts exactly the window, 10 means ten times faster.",
            "Above 1 the promise is at risk; a high value is why someone was paged.",
            "(bad / valid over a span) / (1 - target); multiwindow alerts compare two spans.",
        ),
    ],
    for_developers: "For developers",
    for_product: "For product managers",
    for_sre: "For SREs",
};

pub const JA: Text = Text {
    title: "SLO レポート",
    period: "対象期間",
    met: "{}は目標を達成しました：{}の{}が良好でした（目標 {}）。エラーバジェットは{}残っており、現在のトラフィックで完全停止があと約{}分続くと使い切ります。",
    met_no_outage: "{}は目標を達成しました：{}の{}が良好でした（目標 {}）。エラーバジェットは{}残っています。",
    missed: "{}は目標を達成できませんでした：{}の{}が良好でした（目標 {}）。エラーバジェットを{}超過しています（不良イベントが{}件多すぎます）。",
    no_traffic: "{}はこの期間にトラフィックがありませんでした：判断できる材料がありません。",
    all_invalid: "{}はこの期間に判定できません：このSLIの{}件のイベントはすべて無効でした（ルールが必要とするフィールドが欠けているか型が違います。ログに対して`slipstream backfill`を実行するとそのフィールドが分かります）。",
    unit_requests: "リクエスト",
    unit_slices: "時間スライス",
    objective: "目標",
    objective_line: "{}が良好（期間 {}、方式 {}）",
    budget: "期間終了時点のエラーバジェット",
    budget_left_ratio: "残り（バジェットに対する割合）",
    budget_left_events: "残り（不良イベント数）",
    budget_left_outage: "残り（現在のトラフィックでの完全停止の分数）",
    minutes: "分",
    overspent: "超過",
    this_period: "このレポートの期間内",
    latency_period: "期間全体のレイテンシ（計測されたリクエスト {} 件）",
    good: "良好",
    bad: "不良",
    compliance: "達成率",
    target: "目標",
    day: "日（UTC）",
    daily: "日ごとの達成率",
    chart_daily: "日ごとの達成率と目標",
    chart_budget: "期間中のエラーバジェット残量",
    chart_burn: "1時間のバーンレート（アラートを表示）",
    burn_rate_1h: "バーンレート（1時間）",
    alert_marks: "アラート発報",
    incidents: "インシデント",
    no_incidents: "この期間に発報したアラートはありません。",
    severity: "重大度",
    page: "呼び出し",
    ticket: "チケット",
    start: "開始",
    end: "終了",
    ongoing: "継続中",
    budget_spent: "消費したバジェット",
    peak_burn: "最大バーンレート",
    windows_fired: "判定ウィンドウ",
    top_contributors: "主な原因（不良イベント数）",
    not_available: "なし",
    glossary: "用語集",
    terms: [
        (
            "SLI",
            "すべてのリクエストから測った、うまくいったリクエストの割合。コードの変更が動かす数字です。",
            "目的を果たせたユーザーの割合（パーセント）。",
            "良好イベント数 ÷ 有効イベント数。生ログからウィンドウごとに正確に数えます。",
        ),
        (
            "SLO",
            "約束：SLI が期間を通じて目標を上回ること。下回ったら信頼性の作業を優先します。",
            "ユーザーに約束する信頼性の水準。開発と合意して決め、高くするほどコストがかかります。",
            "ローリングまたはカレンダー期間に対する目標値。バジェットとアラートの基準です。",
        ),
        (
            "エラーバジェット",
            "約束を破る前に許される失敗の量。リリースや実験に使える余地です。",
            "ユーザーに影響が出すぎる前に取れるリスク（リリース、実験、障害）の余地。",
            "(1 − 目標) × 有効イベント数。消費量 = 不良イベント数。残りは負にもなります。",
        ),
        (
            "バーンレート",
            "失敗がバジェットを使う速さ。1 なら期間ちょうどで使い切り、10 なら10倍の速さです。",
            "1 を超えると約束が危うくなります。値が高いと担当者が呼び出されます。",
            "（期間内の不良 ÷ 有効）÷ (1 − 目標)。マルチウィンドウアラートは2つの期間を比べます。",
        ),
    ],
    for_developers: "開発者向け",
    for_product: "プロダクトマネージャー向け",
    for_sre: "SRE 向け",
};

impl Text {
    /// Every phrase, for checking that a translation is complete.
    pub fn all(&self) -> Vec<&'static str> {
        let mut v = vec![
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
        ];
        for (term, dev, pm, sre) in &self.terms {
            v.extend([*term, *dev, *pm, *sre]);
        }
        v
    }
}

impl Lang {
    pub fn text(self) -> &'static Text {
        match self {
            Lang::En => &EN,
            Lang::Ja => &JA,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ja => "ja",
        }
    }
}

/// Fills `{}` placeholders in order.
pub fn fill(template: &str, args: &[&str]) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    let mut args = args.iter();
    while let Some(i) = rest.find("{}") {
        out.push_str(&rest[..i]);
        out.push_str(args.next().copied().unwrap_or(""));
        rest = &rest[i + 2..];
    }
    out.push_str(rest);
    out
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
            assert_eq!(
                e.matches("{}").count(),
                j.matches("{}").count(),
                "{e} / {j}"
            );
        }
    }

    #[test]
    fn placeholders_fill_in_order() {
        assert_eq!(fill("{} of {}", &["a", "b"]), "a of b");
        assert_eq!(fill("{}!", &[]), "!");
    }
}
