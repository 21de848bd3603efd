//! The glossary of a report: every term the page can use, defined once for
//! each role that reads it (developers, product managers, SREs), in English
//! and Japanese. A page's glossary holds the terms its own text uses and no
//! other ([`used`]), so a reader finds each word they met and nothing more.

use super::i18n::Lang;

/// One term and what it means to each role.
#[derive(Debug)]
pub struct Term {
    /// As the page writes it (matched without regard to case).
    pub name: &'static str,
    pub developer: &'static str,
    pub product: &'static str,
    pub sre: &'static str,
}

const fn term(
    name: &'static str,
    developer: &'static str,
    product: &'static str,
    sre: &'static str,
) -> Term {
    Term {
        name,
        developer,
        product,
        sre,
    }
}

pub const EN: [Term; 15] = [
    term(
        "SLO",
        "The promise about an SLI: it stays at or above the target over the objective's window. When it is at risk, reliability work comes before features.",
        "The level of reliability promised to users, agreed between product and engineering; every extra nine costs more.",
        "Target, window and method (occurrences or time slices) together: the basis of the error budget and of the alerts.",
    ),
    term(
        "SLI",
        "The share of requests that went well, measured from every request: the number your code changes move.",
        "How many users got what they came for, as a percentage.",
        "Good events / valid events, counted exactly per window from the raw logs.",
    ),
    term(
        "target",
        "The share of good events the SLO promises, such as 99.9%.",
        "The promised percentage: 99.9% allows one request in a thousand to fail.",
        "The SLO's ratio; 1 − target is the share of bad events the budget allows.",
    ),
    term(
        "compliance",
        "The share of good events actually measured over a span.",
        "What was achieved, to set against the target.",
        "Good / (good + bad) over the span: per day in the daily table, over the objective's window in the answers.",
    ),
    term(
        "error budget",
        "How many failures can happen before the promise breaks: room to ship and to experiment.",
        "The room left for risk — releases, experiments, incidents — before users are let down.",
        "(1 − target) × valid events of the window; spent = bad events; what is left can go below zero.",
    ),
    term(
        "burn rate",
        "How fast failures use up the budget: at 1 it lasts exactly the window, at 10 it goes ten times faster, below 1 it lasts.",
        "Above 1 the promise is at risk; a high value is why someone was paged.",
        "(bad / valid over a span) / (1 − target); multiwindow alerts require it over a long and a short span.",
    ),
    term(
        "incident",
        "A span during which alerts fired: its bad events are what to investigate.",
        "A stretch of trouble users may have noticed, with the budget it cost.",
        "Overlapping page and ticket alerts of one SLO merged into one; its bad events are counted once, from one long alert window before it fired.",
    ),
    term(
        "page",
        "An alert that calls someone now: at this burn the budget is gone within days.",
        "An urgent alert: someone responds right away.",
        "The severity of the fast-burn alert pairs (by default burn rates above 14.4 and 6).",
    ),
    term(
        "ticket",
        "An alert for a slow burn: to fix during working hours.",
        "A non-urgent alert: a task for the team, not an emergency.",
        "The severity of the slow-burn alert pairs (by default burn rates above 3 and 1); held back while a page fires.",
    ),
    term(
        "rolling window",
        "The last days up to now; as time passes, the oldest minutes leave it.",
        "The objective looks back over a fixed number of days, so old trouble is forgotten once it is that old.",
        "The window ending at each evaluation: old bad events leave it, so the budget left can rise again.",
    ),
    term(
        "bad event",
        "A request that your SLI's `good` rule judged failed.",
        "A request that did not serve the user well: an error, or too slow.",
        "A valid event for which the good rule is false; invalid events count neither way.",
    ),
    term(
        "time slice",
        "A stretch of time (a minute) judged good or bad as a whole, by a latency percentile, instead of one request at a time.",
        "A short slot of time counted as good or bad.",
        "With method = timeslices the budget is counted in slices, not requests.",
    ),
    term(
        "top contributors",
        "The breakdown values (route, region…) with the most bad events in an incident: where to look first.",
        "Which parts of the product the failures came from.",
        "The windows' breakdown counts summed over the incident's span, the top three per field.",
    ),
    term(
        "full outage",
        "Every request failing: the budget left is shown as how long that could last at the period's traffic.",
        "How many more minutes the service could be completely down before the promise breaks.",
        "Budget left in events / valid events per minute over the data covered.",
    ),
    term(
        "latency",
        "How long requests took: p99 is the time 99% of requests stayed under.",
        "How fast users were served.",
        "Percentiles of the windows' merged HDR histograms.",
    ),
];

pub const JA: [Term; 15] = [
    term(
        "SLO",
        "SLIについての約束です。目標期間を通じて目標値以上を保つことを指し、危うくなったら機能開発より信頼性の作業を優先します。",
        "ユーザーに約束する信頼性の水準です。プロダクトと開発で合意して決め、9を一つ増やすごとにコストが上がります。",
        "目標値・目標期間・方式（リクエスト数か時間スライス）の組で、エラーバジェットとアラートの基準になります。",
    ),
    term(
        "SLI",
        "すべてのリクエストから測った、うまくいったリクエストの割合です。コードの変更で動く数字です。",
        "目的を果たせたユーザーの割合（パーセント）です。",
        "良好イベント数 ÷ 有効イベント数。生ログからウィンドウごとに正確に数えます。",
    ),
    term(
        "目標値",
        "SLOが約束する良好イベントの割合です（例：99.9%）。",
        "約束する割合です。99.9%なら1,000件に1件までの失敗を許容します。",
        "SLOの比率です。1 − 目標値が、バジェットの許す不良イベントの割合になります。",
    ),
    term(
        "達成率",
        "ある期間に実際に測った良好イベントの割合です。",
        "実際に達成できた割合です。目標値と比べて見ます。",
        "良好 ÷（良好 + 不良）。日ごとの表では1日単位、各設問の回答では目標期間全体で計算します。",
    ),
    term(
        "エラーバジェット",
        "約束を破るまでに許される失敗の量です。リリースや実験に使える余地でもあります。",
        "ユーザーの期待を裏切るまでに取れるリスク（リリース、実験、障害）の余地です。",
        "(1 − 目標値) × 目標期間内の有効イベント数。消費量は不良イベント数で、残りはマイナスにもなります。",
    ),
    term(
        "バーンレート",
        "失敗がバジェットを使う速さです。1なら目標期間ちょうどで使い切り、10なら10倍の速さで、1未満ならバジェットは持ちます。",
        "1を超えると約束が危うくなります。値が高いと担当者に緊急アラートが届きます。",
        "（ある期間の不良 ÷ 有効）÷ (1 − 目標値)。マルチウィンドウアラートは長い期間と短い期間の両方でこれを判定します。",
    ),
    term(
        "インシデント",
        "アラートが発報していた期間です。その間の不良イベントが調査の対象になります。",
        "ユーザーが気づいたかもしれない不調の期間と、それによって使ったバジェットです。",
        "同じSLOの重なり合う緊急アラートとチケットを1件にまとめたものです。不良イベントは重複なく、発報の長い判定期間1つ分前から数えます。",
    ),
    term(
        "緊急アラート",
        "担当者をすぐに呼び出すアラートです。このままだと数日でバジェットを使い切る速さです。",
        "すぐに対応が必要な、緊急のアラートです。",
        "速い消費を捉えるアラートの組です（既定ではバーンレート14.4と6を超えたとき）。",
    ),
    term(
        "チケット",
        "ゆっくりした消費を知らせるアラートです。業務時間内に対応します。",
        "急ぎではないアラートです。緊急対応ではなく、チームの作業として扱います。",
        "遅い消費を捉えるアラートの組です（既定ではバーンレート3と1を超えたとき）。緊急アラートの発報中は出ません。",
    ),
    term(
        "ローリングウィンドウ",
        "現在までの直近の期間です。時間がたつと、最も古い分から順に外れていきます。",
        "決まった日数だけさかのぼって見るので、それより古い不調は数えられなくなります。",
        "評価のたびにその時点で終わる期間です。古い不良イベントが外れるため、バジェット残りが回復することがあります。",
    ),
    term(
        "不良イベント",
        "SLIの`good`ルールで失敗と判定されたリクエストです。",
        "ユーザーにきちんと応えられなかったリクエスト（エラーや遅すぎる応答）です。",
        "goodルールが偽になった有効イベントです。無効なイベントはどちらにも数えません。",
    ),
    term(
        "時間スライス",
        "リクエスト1件ずつではなく、1分などの時間の区切りごとに、レイテンシのパーセンタイルで良好か不良かを判定したものです。",
        "良好か不良かを数える、短い時間の区切りです。",
        "method = timeslices のとき、バジェットはリクエスト数ではなくスライス数で数えます。",
    ),
    term(
        "主な発生元",
        "インシデント中に不良イベントが最も多かった内訳の値（ルート、リージョンなど）です。まず見るべき場所です。",
        "失敗がプロダクトのどの部分から来たかを示します。",
        "インシデントの期間についてウィンドウの内訳件数を合計し、フィールドごとに上位3つを示します。",
    ),
    term(
        "全面停止",
        "すべてのリクエストが失敗する状態です。バジェット残りを、この期間のトラフィックで何分続けられるかに換算して示します。",
        "約束を破るまでに、サービスが完全に止まっていても許される残り時間（分）です。",
        "残りバジェット（件数）÷ データのある期間の1分あたり有効イベント数。",
    ),
    term(
        "レイテンシ",
        "リクエストにかかった時間です。p99は、99%のリクエストがその時間内に収まったことを示します。",
        "ユーザーへの応答の速さです。",
        "ウィンドウごとのHDRヒストグラムをまとめて求めたパーセンタイルです。",
    ),
];

/// Every term of a language, in glossary order.
pub fn terms(lang: Lang) -> &'static [Term] {
    match lang {
        Lang::En => &EN,
        Lang::Ja => &JA,
    }
}

/// Whether `text` uses `name`: without regard to case, and for a name in
/// Latin letters as a word of its own (a plural `s` allowed), so that `SLI`
/// is not found in "slices".
pub fn uses(text: &str, name: &str) -> bool {
    let (text, name) = (text.to_lowercase(), name.to_lowercase());
    if !name.is_ascii() {
        return text.contains(&name);
    }
    let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    text.match_indices(&name).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let mut after = text[i + name.len()..].chars();
        let next = after.next();
        let ends = !word(next) || (next == Some('s') && !word(after.next()));
        !word(before) && ends
    })
}

/// The terms `body` (the page's text outside its glossary) uses.
pub fn used(body: &str, lang: Lang) -> Vec<&'static Term> {
    terms(lang).iter().filter(|t| uses(body, t.name)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_are_found_as_words() {
        assert!(uses("SLO report", "SLO"));
        assert!(!uses("in time slices", "SLI"));
        assert!(uses("3 bad events", "bad event"));
        assert!(uses("Pages", "page"));
        assert!(!uses("pageant", "page"));
        assert!(uses("エラーバジェットは残っています", "エラーバジェット"));
    }

    #[test]
    fn both_languages_define_every_term_for_every_role() {
        for (e, j) in EN.iter().zip(&JA) {
            for (a, b) in [
                (e.developer, j.developer),
                (e.product, j.product),
                (e.sre, j.sre),
            ] {
                assert!(!a.is_empty() && !b.is_empty(), "{}", e.name);
                assert!(!b.is_ascii(), "not Japanese: {b}");
            }
        }
    }
}
